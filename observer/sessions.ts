import { performance } from 'node:perf_hooks';
import type { Span } from '@opentelemetry/api';
import type { Principal } from '../contracts/mcp-event.ts';
import type { Connection } from './connection.ts';
import { headerOf, str } from './connection.ts';
import { ATTR_MCP_PROTOCOL_VERSION, ATTR_NETWORK_TRANSPORT } from './semconv.ts';
import { capabilityNames, META_SERVER_INFO } from './request-meta.ts';
import { assessSessionId } from './session-id.ts';
import type { Headers, InboundContext } from './types.ts';

/** Mismatching principals remembered per session (one `principal-mismatch` event each). */
const MAX_MISMATCHED = 256;

/** Session ids this process handed out, per server name, to judge whether the next one follows a sequence. */
const previousSessionId = new Map<string, string>();

/**
 * The session of a connection and who holds it: the handshake (client identity, negotiated version, the
 * server's own name), the session's creation bound to its first principal and address, a different principal
 * presenting the same session, and its end. From 2026-07-28 there are neither handshake nor sessions: the
 * server names itself in `server/discover` and in each result's `_meta`, and `track` sees no session id.
 */
export class SessionTracker {
  readonly #mismatched = new Set<string>();
  #startedAt = 0;

  constructor(private readonly connection: Connection) {}

  /** `initialize` request: who the client says it is. */
  onInitialize(params: Record<string, unknown>, headers: Headers | undefined): void {
    const { client } = this.connection;
    const clientInfo = params['clientInfo'] as Record<string, unknown> | undefined;
    const name = str(clientInfo?.['name']);
    const version = str(clientInfo?.['version']);
    if (name !== undefined) client.name = name.slice(0, 256);
    if (version !== undefined) client.version = version.slice(0, 128);
    const capabilities = capabilityNames(params['capabilities']);
    if (capabilities !== undefined) client.capabilities = capabilities;
    const userAgent = headerOf(headers, 'user-agent');
    if (userAgent !== undefined) client.userAgent = userAgent.slice(0, 512);
    this.connection.protocolVersion ??= str(params['protocolVersion'])?.slice(0, 64);
  }

  /**
   * `initialize` result (or, from 2026-07-28, `server/discover`'s): the server's own name and instructions,
   * the negotiated version.
   */
  onInitializeResult(result: Record<string, unknown>, span: Span): void {
    this.#nameServer(result['serverInfo'] ?? serverInfoInMeta(result));
    if (result['instructions'] !== undefined) this.connection.instructions = result['instructions'];
    const negotiated = str(result['protocolVersion']);
    if (negotiated !== undefined) {
      this.connection.protocolVersion = negotiated.slice(0, 64);
      span.setAttribute(ATTR_MCP_PROTOCOL_VERSION, this.connection.protocolVersion);
    }
  }

  /** Any other result: a 2026-07-28 server names itself in `_meta`, read while the connection knows no name. */
  onResultMeta(result: Record<string, unknown>): void {
    if (this.connection.server.name === 'unknown') this.#nameServer(serverInfoInMeta(result));
  }

  #nameServer(serverInfo: unknown): void {
    const info = serverInfo as Record<string, unknown> | undefined;
    const name = str(info?.['name']);
    if (name === undefined) return;
    const version = str(info?.['version']);
    this.connection.server = {
      // The gateway's `--name` holds over the name an unowned server gives itself.
      name: this.connection.serverNameFixed ? this.connection.server.name : name.slice(0, 256),
      ...(version === undefined ? {} : { version: version.slice(0, 128) }),
    };
  }

  /** Every inbound message of a connection with sessions: the first binds it, later ones are compared. */
  track(principal: Principal | undefined, inbound: InboundContext): void {
    const connection = this.connection;
    const sessionId = inbound.sessionId;
    if (sessionId === undefined) return;
    if (connection.sessionId === undefined) {
      connection.sessionId = sessionId;
      this.#startedAt = performance.now();
      connection.boundPrincipal = principal;
      if (inbound.clientAddress !== undefined) connection.client.address = inbound.clientAddress;
      const previous = previousSessionId.get(connection.server.name);
      previousSessionId.set(connection.server.name, sessionId);
      connection.telemetry.emit(
        {
          ...connection.envelope(principal, inbound),
          kind: 'session',
          action: 'created',
          idAssessment: assessSessionId(sessionId, previous),
          ...(inbound.clientAddress === undefined ? {} : { boundClientAddress: inbound.clientAddress }),
        },
        connection.server,
      );
      return;
    }
    const bound = connection.boundPrincipal?.id;
    if (principal === undefined || principal.id === bound || this.#mismatched.has(principal.id)) return;
    if (this.#mismatched.size >= MAX_MISMATCHED) return;
    this.#mismatched.add(principal.id);
    connection.telemetry.emit(
      {
        ...connection.envelope(principal, inbound),
        kind: 'session',
        action: 'principal-mismatch',
        ...(bound === undefined ? {} : { boundPrincipalId: bound }),
        ...(connection.client.address === undefined ? {} : { boundClientAddress: connection.client.address }),
      },
      connection.server,
    );
  }

  close(): void {
    const connection = this.connection;
    if (connection.sessionId === undefined) return;
    connection.telemetry.sessionDuration?.record((performance.now() - this.#startedAt) / 1000, {
      [ATTR_NETWORK_TRANSPORT]: connection.networkTransport,
      ...(connection.protocolVersion === undefined ? {} : { [ATTR_MCP_PROTOCOL_VERSION]: connection.protocolVersion }),
    });
    connection.telemetry.emit(
      { ...connection.envelope(connection.boundPrincipal, undefined), kind: 'session', action: 'closed' },
      connection.server,
    );
  }
}

function serverInfoInMeta(result: Record<string, unknown>): unknown {
  const meta = result['_meta'];
  return typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>)[META_SERVER_INFO] : undefined;
}
