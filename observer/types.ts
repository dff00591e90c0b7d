import type { Context } from '@opentelemetry/api';
import type { McpEvent, McpTransport, Principal } from '../contracts/mcp-event.ts';
import type { AuthInfoLike } from './identity.ts';

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

/** What the attachment knows about the message in hand besides its bytes (one request's HTTP layer, or none). */
export interface InboundContext {
  /** The transport's session id when the message arrived (`Mcp-Session-Id`), if it has sessions. */
  sessionId?: string;
  headers?: Record<string, string | string[] | undefined>;
  /** The peer address of this request (not of the session's first one). */
  clientAddress?: string;
  /** Auth info a verifier in front of the server established; absent when the token (if any) is unverified. */
  authInfo?: AuthInfoLike;
}

/** What the attachment knows about the connection as a whole. */
export interface ConnectionContext {
  transport: McpTransport;
  /** Identity until the server's own `initialize` result names it. */
  server?: ServerRef;
  /** `server.name` holds even when the `initialize` result names another (the gateway's `--name`: an unowned server's self-description is not trusted). */
  serverNameFixed?: boolean;
  instructions?: unknown;
  /** The `tools` array the server serves now, asked when it announces a list change (the message carries none). */
  readToolList?: (sessionId: string | undefined) => Promise<unknown>;
  /** Who the attachment knows is on the other end when no request says otherwise (the gateway: the local OS user on stdio). */
  principal?: Principal;
}

/** The MCP request being handled, for hooks deeper in the stack (outbound HTTP). */
export interface CallScope {
  server: ServerRef;
  sessionId?: string;
  principal?: Principal;
  transport: McpTransport;
}

/** What observing an inbound message yields: the OTel context and call scope its handling should run in. */
export interface ObservedInbound {
  context: Context;
  scope: CallScope;
}

export type Headers = Record<string, string | string[] | undefined>;
