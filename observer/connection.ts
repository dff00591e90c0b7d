import type { SpanContext } from '@opentelemetry/api';
import type { ClientIdentity, McpTransport, Principal } from '../contracts/mcp-event.ts';
import type { Telemetry } from './telemetry.ts';
import { isoNow } from './event-time.ts';
import type { ConnectionContext, Headers, InboundContext, ServerRef } from './types.ts';

export const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

export function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export function headerOf(headers: Headers | undefined, name: string): string | undefined {
  return firstHeader(headers?.[name]);
}

/** What every job of the observer knows about one connection, and the envelope of the events they emit. */
export class Connection {
  readonly kind: McpTransport;
  server: ServerRef;
  instructions: unknown;
  protocolVersion: string | undefined;
  sessionId: string | undefined;
  readonly client: ClientIdentity = {};
  boundPrincipal: Principal | undefined;
  /** The attachment's principal for the whole connection, when a request names none. */
  readonly principal: Principal | undefined;
  /** `server.name` came from the attachment's configuration and is kept over `serverInfo.name`. */
  readonly serverNameFixed: boolean;

  constructor(
    context: ConnectionContext,
    readonly telemetry: Telemetry,
  ) {
    this.kind = context.transport;
    this.server = context.server ?? { name: 'unknown' };
    this.instructions = context.instructions;
    this.principal = context.principal;
    this.serverNameFixed = context.serverNameFixed === true;
  }

  /** `network.transport` of the semantic conventions. */
  get networkTransport(): 'pipe' | 'tcp' {
    return this.kind === 'stdio' ? 'pipe' : 'tcp';
  }

  /**
   * The fields every audit event of this connection carries. The client address is the one of the request
   * the event is about (`inbound`, or `at.clientAddress`), never the session's first: a session continued
   * from elsewhere must show where it was continued from.
   */
  envelope(
    principal: Principal | undefined,
    inbound: InboundContext | undefined,
    at?: { time: string; span?: SpanContext; clientAddress?: string | undefined; client?: ClientIdentity | undefined },
  ): EventEnvelope {
    principal ??= this.principal;
    const envelope: EventEnvelope = { time: at?.time ?? isoNow(), transport: this.kind };
    if (this.sessionId !== undefined) envelope.sessionId = this.sessionId;
    if (principal !== undefined) envelope.principal = principal;
    // The address is this request's, never the session's first; a stateless request (2026-07-28) names its own
    // client, which wins over what the connection learned.
    const { address: _bound, ...learned }: ClientIdentity = this.client;
    const client: ClientIdentity = at?.client === undefined ? learned : { ...learned, ...at.client };
    const address = inbound?.clientAddress ?? at?.clientAddress;
    if (address !== undefined) client.address = address;
    if (Object.keys(client).length > 0) envelope.client = client;
    if (at?.span !== undefined) {
      envelope.traceId = at.span.traceId;
      envelope.spanId = at.span.spanId;
    }
    return envelope;
  }
}

/** The fields every audit event of a connection starts with, in this order. */
export interface EventEnvelope {
  time: string;
  transport: McpTransport;
  sessionId?: string;
  principal?: Principal;
  client?: ClientIdentity;
  traceId?: string;
  spanId?: string;
}
