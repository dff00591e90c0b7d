import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe } from 'node:diagnostics_channel';
import { context, createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import { ConnectionObserver } from '../observer/connection-observer.ts';
import type { CallScope, InboundContext } from '../observer/types.ts';
import type { AuthInfoLike } from '../observer/identity.ts';
import type { McpTransport } from '../contracts/mcp-event.ts';
import { guard } from '../observer/telemetry.ts';
import type { Telemetry } from '../observer/telemetry.ts';
import type { MessageExtra, ServerLike, TransportLike } from './internal-types.ts';

const HOOKED = Symbol.for('mcpwatch.transport.hooked');
const WRAPPED = Symbol.for('mcpwatch.wrapped');

const CALL_SCOPE_KEY = createContextKey('mcpwatch.call-scope');

/**
 * The MCP call in hand travels as a value of the OTel context. Without a context manager (an `instrument()`
 * user with no OTel SDK), OTel's `context.with` propagates nothing: then one store of our own carries the OTel
 * context.
 */
let fallbackStore: AsyncLocalStorage<Context> | undefined | null = null;

function store(): AsyncLocalStorage<Context> | undefined {
  if (fallbackStore === null) {
    const probe = ROOT_CONTEXT.setValue(CALL_SCOPE_KEY, true);
    const propagates = context.with(probe, () => context.active().getValue(CALL_SCOPE_KEY) === true);
    fallbackStore = propagates ? undefined : new AsyncLocalStorage<Context>();
  }
  return fallbackStore;
}

function activeContext(): Context {
  return store()?.getStore() ?? context.active();
}

function runWith<T>(next: Context, fn: () => T): T {
  const own = store();
  return own === undefined ? context.with(next, fn) : own.run(next, () => context.with(next, fn));
}

/** The MCP request whose handler is running, for hooks deeper in the stack (outbound HTTP). */
export function currentCallScope(): CallScope | undefined {
  return activeContext().getValue(CALL_SCOPE_KEY) as CallScope | undefined;
}

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

function transportKind(transport: TransportLike): McpTransport {
  const name = transport.constructor.name;
  if (/stdio/i.test(name)) return 'stdio';
  // SDK 2.x serves 2026-07-28 HTTP requests on a `PerRequestHTTPServerTransport`.
  if (/streamable|http/i.test(name)) return 'streamable-http';
  if (/sse/i.test(name)) return 'sse';
  return typeof transport.handleRequest === 'function' ? 'streamable-http' : 'other';
}

/** Replaces `target[key]` (an own or inherited data property or accessor) with one that wraps whatever is assigned. */
function interceptHandler<F extends (...args: never[]) => unknown>(
  target: object,
  key: string,
  wrap: (handler: F) => F,
  wrapCurrent: boolean,
): void {
  let owner: object | null = target;
  let descriptor: PropertyDescriptor | undefined;
  while (owner !== null && descriptor === undefined) {
    descriptor = Object.getOwnPropertyDescriptor(owner, key);
    owner = Object.getPrototypeOf(owner) as object | null;
  }
  const wrapOnce = (handler: unknown): unknown =>
    typeof handler === 'function' && !(WRAPPED in handler)
      ? Object.assign(wrap(handler as F), { [WRAPPED]: true })
      : handler;
  if (descriptor?.set !== undefined) {
    // Called with the target as `this`, as the accessor's owner would be.
    const { get, set } = descriptor as {
      get?: (this: unknown) => unknown;
      set: (this: unknown, value: unknown) => void;
    };
    Object.defineProperty(target, key, {
      configurable: true,
      enumerable: descriptor.enumerable ?? true,
      get() {
        return get?.call(this);
      },
      set(handler: unknown) {
        set.call(this, wrapOnce(handler));
      },
    });
    if (wrapCurrent && get !== undefined) set.call(target, wrapOnce(get.call(target)));
    return;
  }
  const existing = (target as Record<string, unknown>)[key];
  let current = wrapCurrent ? wrapOnce(existing) : existing;
  Object.defineProperty(target, key, {
    configurable: true,
    enumerable: true,
    get: () => current,
    set: (handler: unknown) => {
      current = wrapOnce(handler);
    },
  });
}

/** The observer's view of an SDK server: its declared identity and its own `tools/list` handler. */
function observerFor(server: ServerLike, transport: TransportLike, telemetry: Telemetry): ConnectionObserver {
  const info = server._serverInfo;
  const name = str(info?.name);
  const version = str(info?.version);
  return new ConnectionObserver(
    {
      transport: transportKind(transport),
      server: { name: name ?? 'unknown', ...(version === undefined ? {} : { version }) },
      instructions: server._instructions,
      readToolList: async (sessionId) => {
        const handler = server._requestHandlers?.get('tools/list');
        if (handler === undefined) return undefined;
        const extra = {
          signal: new AbortController().signal,
          requestId: 'mcpwatch-catalog',
          sendNotification: () => Promise.resolve(),
          sendRequest: () => Promise.reject(new Error('mcpwatch: not available while reading the tool catalog')),
          ...(sessionId === undefined ? {} : { sessionId }),
        };
        const listed = (await handler({ method: 'tools/list', params: {} }, extra)) as { tools?: unknown } | undefined;
        return listed?.tools;
      },
    },
    telemetry,
  );
}

/** A Node `IncomingMessage`, as far as it is read here. */
interface NodeRequest {
  socket?: { remoteAddress?: unknown } | null;
  headers?: unknown;
}

/** The `node:http` request that carried the current message. */
interface HttpRequestScope {
  /** The `IncomingMessage` itself: its headers are parsed only when read (Node builds `headers` lazily). */
  request: NodeRequest;
  clientAddress?: string;
}

/** A Node `IncomingMessage` (the SDK's Node transport), not a web `Request` (no peer address there). */
function httpScopeOf(request: NodeRequest): HttpRequestScope {
  const scope: HttpRequestScope = { request };
  const address = str(request.socket?.remoteAddress);
  if (address !== undefined) scope.clientAddress = address.slice(0, 128);
  return scope;
}

/**
 * The `node:http` request being handled. The server's `http.server.request.start` diagnostics channel names it
 * before it is handled, which also covers SDK 2.x, whose transports get a web `Request` without a peer address
 * (`createMcpHandler` behind `toNodeHandler`, or any fetch-style adapter). A transport's `handleRequest` given an
 * `IncomingMessage` that is not the one in scope (its handling continued from a stream event, as after a body
 * parser) runs in a scope of its own.
 */
const nodeRequest = new AsyncLocalStorage<HttpRequestScope>();
let watchingInbound = false;

/** Follows every inbound `node:http` request into its handling. Idempotent. */
export function watchInboundHttpRequests(): void {
  if (watchingInbound) return;
  watchingInbound = true;
  subscribe('http.server.request.start', (message) =>
    guard('inbound http hook', () => {
      const request = (message as { request?: NodeRequest }).request;
      // From here to the end of this socket's callback and in every continuation the handling creates; the next
      // request on the socket (the same peer) enters its own.
      if (request !== undefined) nodeRequest.enterWith(httpScopeOf(request));
    }),
  );
}

/** What the observer is told about one inbound message: the SDK's extra info, else the HTTP request's scope. */
function inboundOf(transport: TransportLike, kind: McpTransport, extra: MessageExtra | undefined): InboundContext {
  const servesHttp = typeof transport.handleRequest === 'function';
  const http = servesHttp || kind === 'streamable-http' || kind === 'sse' ? nodeRequest.getStore() : undefined;
  // The SDK's request info, else the web `Request`, else (SDK 1.x before request info) the Node request's.
  const headers =
    extra?.requestInfo?.headers ?? headersOf(extra?.request) ?? (servesHttp ? nodeHeadersOf(http) : undefined);
  const authInfo = extra?.authInfo as AuthInfoLike | undefined;
  const clientAddress = http?.clientAddress;
  const inbound: InboundContext = {};
  if (transport.sessionId !== undefined) inbound.sessionId = transport.sessionId;
  if (headers !== undefined) inbound.headers = headers;
  if (clientAddress !== undefined) inbound.clientAddress = clientAddress;
  if (authInfo !== undefined) inbound.authInfo = authInfo;
  return inbound;
}

/**
 * Attaches an observer to an SDK transport before the SDK's `connect` installs its handlers (or after, when
 * `connected`: then the installed ones are wrapped). Idempotent: a transport is followed once.
 */
export function hookTransport(
  server: ServerLike,
  transport: TransportLike,
  telemetry: Telemetry,
  connected = false,
): void {
  if ((transport as { [HOOKED]?: true })[HOOKED] === true) return;
  Object.defineProperty(transport, HOOKED, { value: true });
  const observer = observerFor(server, transport, telemetry);
  interceptHandler<(message: unknown, extra?: unknown) => void>(
    transport,
    'onmessage',
    (handler) =>
      function (this: unknown, message: unknown, extra?: unknown) {
        const observed = observer.onInbound(
          message,
          inboundOf(transport, observer.kind, extra as MessageExtra | undefined),
        );
        const deliver = (): void => handler.call(this, message, extra);
        if (observed === undefined) deliver();
        else runWith(observed.context.setValue(CALL_SCOPE_KEY, observed.scope), deliver);
      },
    connected,
  );
  interceptHandler<() => void>(
    transport,
    'onclose',
    (handler) =>
      function (this: unknown) {
        observer.onClose();
        handler.call(this);
      },
    connected,
  );
  const send = transport.send;
  transport.send = function (this: TransportLike, message: unknown, options?: unknown) {
    observer.onOutbound(message);
    return send.call(this, message, options);
  };
  const handleRequest = transport.handleRequest;
  if (typeof handleRequest === 'function') {
    transport.handleRequest = function (this: TransportLike, ...args: unknown[]) {
      const request = args[0] as NodeRequest | undefined;
      const scope = guard('http request hook', () =>
        typeof request?.socket === 'object' && nodeRequest.getStore()?.request !== request
          ? httpScopeOf(request)
          : undefined,
      );
      return scope === undefined
        ? handleRequest.apply(this, args)
        : nodeRequest.run(scope, () => handleRequest.apply(this, args));
    };
  }
}

function nodeHeadersOf(http: HttpRequestScope | undefined): Record<string, string | string[] | undefined> | undefined {
  const headers = http?.request.headers;
  return typeof headers === 'object' && headers !== null && !(headers instanceof Headers)
    ? (headers as Record<string, string | string[] | undefined>)
    : undefined;
}

/** SDK 2.x hands the web `Request` itself: its headers as a record (names arrive lower-cased). */
function headersOf(request: MessageExtra['request']): Record<string, string> | undefined {
  const headers = request?.headers;
  if (!(headers instanceof Headers)) return undefined;
  return Object.fromEntries(headers);
}
