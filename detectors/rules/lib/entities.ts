import type { AlertEntities } from '../../../contracts/alert.ts';
import type { McpEvent } from '../../../contracts/mcp-event.ts';

/** The alert entities an event names: server, session, user, client, ip and (for calls) tool. */
export function entitiesOf(event: McpEvent): AlertEntities {
  const entities: AlertEntities = { server: event.server.name };
  if (event.sessionId !== undefined) entities.session = event.sessionId;
  if (event.principal !== undefined) entities.user = event.principal.id;
  if (event.client?.name !== undefined) entities.client = event.client.name;
  if (event.client?.address !== undefined) entities.ip = event.client.address;
  if (event.kind === 'call' && event.tool !== undefined) entities.tool = event.tool;
  return entities;
}

/** `server\0session`: session ids are only unique within one server. */
export function sessionKeyOf(event: McpEvent): string | undefined {
  return event.sessionId === undefined ? undefined : `${event.server.name}\u0000${event.sessionId}`;
}

/** Appends to a bounded list, dropping the oldest entries. */
export function pushBounded<T>(list: readonly T[], item: T, max: number): T[] {
  const next = [...list, item];
  return next.length > max ? next.slice(next.length - max) : next;
}
