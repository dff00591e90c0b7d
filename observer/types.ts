import type { McpEvent } from '../contracts/mcp-event.ts';

/** `Omit` per union member that keeps known keys next to the loose objects' index signature. */
type OmitEach<T, K extends PropertyKey> = T extends unknown
  ? { [P in keyof T as P extends K ? never : P]: T[P] }
  : never;

/** An audit event as the instrumentation emits it: the collector adds these three from the record's attributes and resource. */
export type AuditEvent = OmitEach<McpEvent, 'schemaVersion' | 'eventId' | 'server'>;

/** The `serverInfo` an event is attributed to. */
export interface ServerRef {
  name: string;
  version?: string;
}

export type JsonRpcId = string | number;

/** A JSON-RPC 2.0 message as it crosses the transport, read defensively: it is outside input. */
export interface JsonRpcMessage {
  jsonrpc?: unknown;
  id?: JsonRpcId;
  method?: unknown;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { code?: unknown; message?: unknown };
}
