import { context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import type { TextMapGetter } from '@opentelemetry/api';
import { AuthTracker } from './auth.ts';
import { CallTracker } from './calls.ts';
import type { RequestFacts } from './calls.ts';
import { CatalogTracker } from './catalog-tracker.ts';
import { Connection, str } from './connection.ts';
import { InputRequestTracker } from './input-requests.ts';
import { mcpHeadersOf, requestEnvelopeOf } from './request-meta.ts';
import { SessionTracker } from './sessions.ts';
import { guard } from './telemetry.ts';
import type { Telemetry } from './telemetry.ts';
import type { CallScope, ConnectionContext, InboundContext, JsonRpcMessage, ObservedInbound } from './types.ts';

const metaGetter: TextMapGetter<Record<string, unknown>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    return typeof value === 'string' ? value : undefined;
  },
};

/**
 * The one MCP observer: follows one server connection, every JSON-RPC message in (client → server) and out
 * (server → client), and turns it into spans and audit events without changing any of them. It knows nothing
 * of how it is attached: the in-process instrumentation feeds it from the SDK's transport, the gateway from
 * relayed bytes. All state is per connection; a stateful Streamable HTTP session is one connection. The work
 * is split by job: who calls (`auth.ts`), which session (`sessions.ts`), which requests (`calls.ts`), which
 * tools were served (`catalog-tracker.ts`), what the server asks of the user (`input-requests.ts`).
 *
 * Both protocol generations: up to 2025-11-25 the `initialize` handshake names the client and the version
 * for the whole connection; from 2026-07-28 every request carries them in `_meta` (`request-meta.ts`) and
 * the call records them per request, with the HTTP metadata headers next to the body's values.
 */
export class ConnectionObserver {
  readonly #connection: Connection;
  readonly #auth: AuthTracker;
  readonly #sessions: SessionTracker;
  readonly #calls: CallTracker;
  readonly #catalog: CatalogTracker;
  readonly #inputs: InputRequestTracker;
  #closed = false;

  constructor(connection: ConnectionContext, telemetry: Telemetry) {
    this.#connection = new Connection(connection, telemetry);
    this.#auth = new AuthTracker(this.#connection);
    this.#sessions = new SessionTracker(this.#connection);
    this.#calls = new CallTracker(this.#connection);
    this.#catalog = new CatalogTracker(this.#connection, connection.readToolList);
    this.#inputs = new InputRequestTracker(this.#connection);
  }

  get kind(): ConnectionContext['transport'] {
    return this.#connection.kind;
  }

  /**
   * Inbound message, before the server handles it. Returns the context its handling should run in (the
   * request's span), or `undefined` when it is not followed; never throws.
   */
  onInbound(message: unknown, inbound: InboundContext = {}): ObservedInbound | undefined {
    return guard('inbound message hook', () => this.#inbound(message as JsonRpcMessage, inbound));
  }

  /** Outbound message: observed before it is sent, never altered. */
  onOutbound(message: unknown): void {
    guard('outbound message hook', () => this.#outbound(message as JsonRpcMessage));
  }

  onClose(): void {
    guard('close hook', () => this.#close());
  }

  #inbound(message: JsonRpcMessage, inbound: InboundContext): ObservedInbound | undefined {
    const method = str(message.method);
    if (method === undefined) return undefined;
    const params = typeof message.params === 'object' && message.params !== null ? message.params : {};
    if (method === 'initialize') this.#sessions.onInitialize(params, inbound.headers);
    const presented = this.#auth.authenticate(inbound);
    this.#sessions.track(presented?.principal, inbound);
    const connection = this.#connection;
    const principal = presented?.principal ?? connection.principal;
    const scope: CallScope = { server: connection.server, transport: connection.kind };
    if (connection.sessionId !== undefined) scope.sessionId = connection.sessionId;
    if (principal !== undefined) scope.principal = principal;
    const meta = params['_meta'];
    const parent =
      typeof meta === 'object' && meta !== null
        ? propagation.extract(ROOT_CONTEXT, meta as Record<string, unknown>, metaGetter)
        : context.active();
    if (message.id === undefined) return { context: parent, scope };
    const envelope = requestEnvelopeOf(params);
    // No negotiated version from 2026-07-28: the connection's version is the one its latest request claimed.
    if (envelope?.protocolVersion !== undefined) this.#connection.protocolVersion = envelope.protocolVersion;
    const mcpHeaders = mcpHeadersOf(inbound.headers, method, params, envelope?.protocolVersion);
    const facts: RequestFacts = {};
    if (envelope !== undefined) facts.envelope = envelope;
    if (mcpHeaders !== undefined) facts.mcpHeaders = mcpHeaders;
    const call = this.#calls.start(method, message.id, params, presented, inbound, parent, facts);
    return { context: call?.spanContext ?? parent, scope };
  }

  #outbound(message: JsonRpcMessage): void {
    if (message.id !== undefined && message.method === undefined) {
      const call = this.#calls.take(message.id);
      if (call === undefined) return;
      const result = this.#calls.finish(call, message, (answer, span) => {
        if (call.method === 'initialize' || call.method === 'server/discover')
          this.#sessions.onInitializeResult(answer, span);
        else this.#sessions.onResultMeta(answer);
      });
      if (result?.['resultType'] === 'input_required') this.#inputs.onInputRequired(call, result);
      if (call.method === 'tools/list' && Array.isArray(result?.['tools'])) {
        this.#catalog.onToolsListed(result['tools'] as unknown[], call.presented?.principal, call.spanContext);
      }
      return;
    }
    const method = str(message.method);
    if (method === undefined) return;
    // On a `subscriptions/listen` stream (2026-07-28) the notification is the same, tagged with a subscription.
    if (method === 'notifications/tools/list_changed') this.#catalog.onListChanged();
    else if (message.id !== undefined) this.#inputs.onServerRequest(message, method);
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#calls.abandonAll();
    this.#sessions.close();
  }
}
