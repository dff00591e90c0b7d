import type { McpEvent } from '../../../contracts/mcp-event.ts';

/** The first revision in which list results no longer vary per connection. */
export const STATELESS_FROM = '2026-07-28';

type ToolCatalogEvent = Extract<McpEvent, { kind: 'tool-catalog' }>;

/** A catalog served under 2026-07-28 or later, where every caller must be served the same list. */
export function isStatelessCatalog(event: ToolCatalogEvent): boolean {
  return event.protocolVersion !== undefined && event.protocolVersion >= STATELESS_FROM;
}

/** Who a catalog was served to: the principal, else the client address, else the client name. */
export function audienceOf(event: ToolCatalogEvent): string | undefined {
  return event.principal?.id ?? event.client?.address ?? event.client?.name;
}
