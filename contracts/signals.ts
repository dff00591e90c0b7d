/**
 * How mcpwatch's instrumentation carries `McpEvent`s over OpenTelemetry, so the collector can map them
 * completely. Audit events are OTel log records whose `event.name` is `mcpwatch.<kind>` (kind with `-` as
 * `_`) and whose body is the event as a structured map: every `McpEvent` field except `schemaVersion`,
 * `eventId` and `server`, which the collector derives from the record's attributes (`ATTRIBUTES`) and its
 * resource (`service.name`, `service.version`, `service.instance.id`, `host.name`, and
 * `RESOURCE_ATTRIBUTES`). Spans follow the OTel MCP semantic conventions and need no mcpwatch attribute.
 */
import type { McpEventKind } from './mcp-event.ts';

export const AUDIT_EVENT_PREFIX = 'mcpwatch.';

export function auditEventName(kind: McpEventKind): string {
  return AUDIT_EVENT_PREFIX + kind.replaceAll('-', '_');
}

export function kindOfAuditEventName(name: string): McpEventKind | undefined {
  if (!name.startsWith(AUDIT_EVENT_PREFIX)) return undefined;
  const kind = name.slice(AUDIT_EVENT_PREFIX.length).replaceAll('_', '-');
  return AUDIT_KINDS.find((known) => known === kind);
}

const AUDIT_KINDS: readonly McpEventKind[] = [
  'call',
  'auth',
  'session',
  'tool-catalog',
  'outbound-request',
  'enforcement',
  'input-request',
];

/** Resource attributes the instrumentation sets besides the standard `service.*` and `host.name`. */
export const RESOURCE_ATTRIBUTES = {
  /** The protected resource identifier the server was configured with (`MCPWATCH_RESOURCE`). */
  serverResource: 'mcpwatch.server.resource',
} as const;

/** Log record (and span) attributes of mcpwatch's audit events. */
export const ATTRIBUTES = {
  /** A UUID per audit event, so that an exporter's retry can be recognized downstream. */
  eventId: 'mcpwatch.event.id',
  /** `serverInfo.name` / `.version` of the MCP server in the process that emitted this (one process may run several). */
  serverName: 'mcp.server.name',
  serverVersion: 'mcp.server.version',
} as const;

/**
 * What replaces a value nested deeper than an export or ingest limit (in a tool definition, an attribute, a
 * log body): the surrounding definition is kept and marked, instead of the whole record being dropped.
 */
export const FLATTENED_VALUE_MARKER = '[mcpwatch: nested deeper than the limit]';
