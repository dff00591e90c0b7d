import { createHash, timingSafeEqual } from 'node:crypto';
import { Agent as HttpAgent, createServer, request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { AuthInfoLike } from '../observer/identity.ts';
import { rejectedTokenEvent } from '../observer/auth.ts';
import { bearerToken } from '../observer/identity.ts';
import { ConnectionObserver } from '../observer/connection-observer.ts';
import type { InboundContext } from '../observer/types.ts';
import { guard } from '../observer/telemetry.ts';
import type { Telemetry } from '../observer/telemetry.ts';
import type { ToolGate } from './enforcement.ts';
import { jsonRpcMessages, SseParser } from './framing.ts';
import type { SseEvent } from './framing.ts';
import type { BearerVerifier } from './identity.ts';
import { countOversize, newCounters, observeMessages, observeText } from './observe.ts';
import type { RelayCounters } from './observe.ts';

export interface HttpProxyOptions {
  /** The one Streamable HTTP MCP endpoint relayed to; other paths on its origin are relayed unobserved. */
  upstream: URL;
  host: string;
  port: number;
  /** The gateway's name for the server (`--name` or derived from the URL). */
  name: string;
  /** The name was given (`--name`): it holds over the name the server gives itself. */
  nameFixed?: boolean;
  telemetry: Telemetry;
  logger: Logger;
  maxObservedBytes: number;
  /** Required in `Proxy-Authorization: Bearer <token>`; mandatory beyond loopback (checked by the caller). */
  authToken?: string;
  /** `Host` values accepted besides the listen address and its loopback spellings. */
  allowedHosts?: readonly string[];
  /** `Origin` values accepted besides loopback origins; requests without Origin are accepted. */
  allowedOrigins?: readonly string[];
  verifier?: BearerVerifier;
  gate?: ToolGate;
}

export interface RunningHttpProxy {
  url: string;
  counters: RelayCounters;
  close(): Promise<void>;
}

/** Headers that describe one hop, never relayed (RFC 9110 §7.6.1), plus our own credential. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
]);
/** Sessions followed at once; beyond it a session's requests are observed one by one. */
const MAX_SESSIONS = 10_000;
/** Distinct tokens whose failed verification is recorded (one `rejected` auth event each). */
const MAX_REJECTED = 256;
const LOOPBACK_ORIGIN = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/i;

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

function relayedHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const connection = headers['connection'];
  // The names a `Connection` header lists are this hop's too; without one, nothing to split per request.
  const listed = connection
    ?.toLowerCase()
    .split(',')
    .map((name) => name.trim());
  const out: OutgoingHttpHeaders = {};
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || listed?.includes(name) === true) continue;
    out[name] = value;
  }
  return out;
}

function refuse(res: ServerResponse, status: number, message: string, headers: OutgoingHttpHeaders = {}): void {
  const body = JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

const firstHeader = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? value[0] : value;

/**
 * `mcpwatch proxy --upstream <url>`: a reverse proxy for one Streamable HTTP MCP endpoint. Request and
 * response bodies stream through as they arrive (SSE events reach the client when the upstream sends them);
 * a bounded copy is parsed for the observer. One observer per `Mcp-Session-Id`; a request without a session
 * (stateless servers, 2026-07-28) is observed on its own. Checks Host and Origin, and the proxy's own token.
 */
export async function startHttpProxy(options: HttpProxyOptions): Promise<RunningHttpProxy> {
  const { telemetry, logger, upstream } = options;
  const counters = newCounters();
  const sessions = new Map<string, ConnectionObserver>();
  const rejectedTokens = new Set<string>();
  const secure = upstream.protocol === 'https:';
  const agent = secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const send = secure ? httpsRequest : httpRequest;
  const expectedToken = options.authToken === undefined ? undefined : digest(options.authToken);
  const allowedHosts = new Set<string>((options.allowedHosts ?? []).map((host) => host.toLowerCase()));
  const allowedOrigins = new Set<string>(options.allowedOrigins ?? []);

  const newObserver = (): ConnectionObserver =>
    new ConnectionObserver(
      { transport: 'streamable-http', server: { name: options.name }, serverNameFixed: options.nameFixed === true },
      telemetry,
    );

  const sessionObserver = (sessionId: string): ConnectionObserver | undefined => {
    let observer = sessions.get(sessionId);
    if (observer === undefined && sessions.size < MAX_SESSIONS) {
      observer = newObserver();
      sessions.set(sessionId, observer);
    }
    return observer;
  };

  /** Verified auth info for the request's bearer token, or none (no verifier, no token, or it failed). */
  const verify = async (headers: IncomingHttpHeaders): Promise<AuthInfoLike | undefined> => {
    const token = bearerToken(headers['authorization']);
    if (options.verifier === undefined || token === undefined) return undefined;
    try {
      return await options.verifier(token);
    } catch (error) {
      guard('token verification record', () => {
        telemetry.secrets.remember(token);
        const event = rejectedTokenEvent(telemetry, token, error, 'streamable-http');
        if (rejectedTokens.has(event.token.fingerprint) || rejectedTokens.size >= MAX_REJECTED) return;
        rejectedTokens.add(event.token.fingerprint);
        telemetry.emit(event, { name: options.name });
      });
      return undefined;
    }
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const host = (req.headers.host ?? '').toLowerCase();
    if (!allowedHosts.has(host)) return refuse(res, 403, 'mcpwatch proxy: Host not allowed');
    const origin = req.headers.origin;
    if (origin !== undefined && !LOOPBACK_ORIGIN.test(origin) && !allowedOrigins.has(origin))
      return refuse(res, 403, 'mcpwatch proxy: Origin not allowed');
    if (expectedToken !== undefined) {
      const presented = bearerToken(req.headers['proxy-authorization']);
      if (presented === undefined || !timingSafeEqual(digest(presented), expectedToken))
        return refuse(res, 407, 'mcpwatch proxy: Proxy-Authorization required', {
          'proxy-authenticate': 'Bearer realm="mcpwatch-proxy"',
        });
    }
    const path = new URL(req.url ?? '/', 'http://proxy.invalid').pathname;
    const mcp = path === upstream.pathname;
    const requestSession = firstHeader(req.headers['mcp-session-id']);
    const inboundBase: InboundContext = {
      headers: req.headers,
      ...(req.socket.remoteAddress === undefined ? {} : { clientAddress: req.socket.remoteAddress.slice(0, 128) }),
    };
    const exchange = new Exchange(req, res, {
      mcp,
      options,
      counters,
      requestSession,
      inboundBase,
      verify,
      sessionObserver,
      newObserver,
      closeSession: (sessionId) => {
        const observer = sessions.get(sessionId);
        sessions.delete(sessionId);
        observer?.onClose();
      },
      forward: (body) => {
        const outgoing = send(
          {
            protocol: upstream.protocol,
            hostname: upstream.hostname,
            port: upstream.port,
            method: req.method,
            path: req.url,
            headers: { ...relayedHeaders(req.headers), host: upstream.host },
            agent,
          },
          (upstreamRes) => exchange.respond(upstreamRes),
        );
        outgoing.on('error', (error) => exchange.upstreamFailed(error));
        res.once('close', () => {
          if (!res.writableFinished) outgoing.destroy();
        });
        if (body === undefined) req.pipe(outgoing);
        else outgoing.end(body);
      },
    });
    exchange.start();
  };

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (error) {
      logger.error({ err: error }, 'Proxy request failed.');
      if (!res.headersSent) refuse(res, 500, 'mcpwatch proxy: internal error');
      else res.destroy();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const hostPart = options.host.includes(':') ? `[${options.host}]` : options.host;
  for (const name of [hostPart, 'localhost', '127.0.0.1', '[::1]']) allowedHosts.add(`${name}:${port}`.toLowerCase());
  return {
    url: `http://${hostPart}:${port}${upstream.pathname}${upstream.search}`,
    counters,
    close: async () => {
      for (const observer of sessions.values()) observer.onClose();
      sessions.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}

interface ExchangeContext {
  mcp: boolean;
  options: HttpProxyOptions;
  counters: RelayCounters;
  requestSession: string | undefined;
  inboundBase: InboundContext;
  verify(headers: IncomingHttpHeaders): Promise<AuthInfoLike | undefined>;
  sessionObserver(sessionId: string): ConnectionObserver | undefined;
  newObserver(): ConnectionObserver;
  closeSession(sessionId: string): void;
  /** Sends the request upstream: the client's body streamed through, or the given (already read) body. */
  forward(body: Buffer | undefined): void;
}

/**
 * One HTTP request through the proxy. Observation runs on a promise chain of its own so that the relay never
 * waits for it: the inbound message (after optional token verification) is observed first, then each outbound
 * message in the order the upstream sent them.
 */
class Exchange {
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #ctx: ExchangeContext;
  #observer: ConnectionObserver | undefined;
  #ephemeral = false;
  #listRequest: unknown;
  #observing: Promise<unknown> = Promise.resolve();
  /** Observations waiting on the chain; at 0 (and no inbound pending) an outbound one runs at once. */
  #queued = 0;
  readonly #sessionKnown: Promise<string | undefined>;
  #resolveSession: (sessionId: string | undefined) => void = () => undefined;

  constructor(req: IncomingMessage, res: ServerResponse, ctx: ExchangeContext) {
    this.#req = req;
    this.#res = res;
    this.#ctx = ctx;
    this.#sessionKnown = new Promise((resolve) => (this.#resolveSession = resolve));
  }

  start(): void {
    const { mcp, options } = this.#ctx;
    if (!mcp || this.#req.method !== 'POST') {
      if (mcp && this.#ctx.requestSession !== undefined)
        this.#observer = this.#ctx.sessionObserver(this.#ctx.requestSession);
      this.#resolveSession(this.#ctx.requestSession);
      this.#ctx.forward(undefined);
      return;
    }
    const parts: Buffer[] = [];
    let size = 0;
    let oversize = false;
    const enforce = options.gate !== undefined;
    if (!enforce) this.#ctx.forward(undefined);
    this.#req.on('data', (chunk: Buffer) => {
      if (enforce) {
        parts.push(chunk);
        return;
      }
      if (oversize) return;
      size += chunk.length;
      if (size > options.maxObservedBytes) {
        oversize = true;
        parts.length = 0;
      } else parts.push(chunk);
    });
    this.#req.once('end', () => {
      const body = Buffer.concat(parts);
      if (enforce) void this.#enforceRequest(body);
      if (oversize || body.length > options.maxObservedBytes) {
        countOversize(options.telemetry, this.#ctx.counters, 'inbound');
        this.#resolveSession(this.#ctx.requestSession);
        return;
      }
      this.#observeRequest(body.toString('utf8'));
    });
  }

  /** `--enforce`: a single `tools/call` of a withheld tool is answered here; a `tools/list` result is filtered. */
  async #enforceRequest(body: Buffer): Promise<void> {
    const gate = this.#ctx.options.gate!;
    const messages =
      body.length > this.#ctx.options.maxObservedBytes ? undefined : jsonRpcMessages(body.toString('utf8'));
    const single = messages?.length === 1 ? messages[0] : undefined;
    const params = single?.['params'] as Record<string, unknown> | undefined;
    if (single?.['method'] === 'tools/list' && single['id'] !== undefined) this.#listRequest = single['id'];
    const tool = single?.['method'] === 'tools/call' ? params?.['name'] : undefined;
    const refusal = typeof tool === 'string' && single?.['id'] !== undefined ? await gate.refusal(tool) : undefined;
    if (refusal === undefined || typeof tool !== 'string') return this.#ctx.forward(body);
    const answer = JSON.stringify({ jsonrpc: '2.0', id: single!['id'], error: gate.errorFor(tool, refusal) });
    this.#resolveSession(this.#ctx.requestSession);
    this.#observeOutbound(answer);
    this.#res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
    this.#res.end(answer);
  }

  #observeRequest(text: string): void {
    const { options, counters } = this.#ctx;
    const messages = guard('inbound observation', () => jsonRpcMessages(text));
    const initialize = messages?.some((message) => message['method'] === 'initialize') === true;
    // A session's id is only known from the upstream's answer to `initialize`: observe the request once it is.
    const sessionId: Promise<string | undefined> =
      initialize && this.#ctx.requestSession === undefined
        ? this.#sessionKnown
        : Promise.resolve(this.#ctx.requestSession);
    if (!initialize || this.#ctx.requestSession !== undefined) this.#resolveSession(this.#ctx.requestSession);
    this.#queued++;
    this.#observing = Promise.all([sessionId, this.#ctx.verify(this.#req.headers)]).then(([session, authInfo]) =>
      guard('inbound observation', () => {
        this.#queued--;
        this.#observer = session === undefined ? undefined : this.#ctx.sessionObserver(session);
        if (this.#observer === undefined) {
          this.#observer = this.#ctx.newObserver();
          this.#ephemeral = true;
        }
        const inbound: InboundContext = { ...this.#ctx.inboundBase };
        if (session !== undefined) inbound.sessionId = session;
        if (authInfo !== undefined) inbound.authInfo = authInfo;
        observeMessages(this.#observer, options.telemetry, counters, 'inbound', messages, inbound);
      }),
    );
  }

  #observeOutbound(text: string): void {
    // The common case (a GET stream, or a response after its request was observed): no promise per message.
    if (this.#queued === 0) return this.#observeOutboundNow(text);
    this.#queued++;
    this.#observing = this.#observing.then(() => {
      this.#queued--;
      guard('outbound observation', () => this.#observeOutboundNow(text));
    });
  }

  #observeOutboundNow(text: string): void {
    if (this.#observer === undefined) return;
    observeText(this.#observer, this.#ctx.options.telemetry, this.#ctx.counters, 'outbound', text);
  }

  #finish(): void {
    this.#observing = this.#observing.then(() => {
      if (this.#ephemeral) this.#observer?.onClose();
    });
  }

  respond(upstreamRes: IncomingMessage): void {
    const { options, counters } = this.#ctx;
    const res = this.#res;
    const status = upstreamRes.statusCode ?? 502;
    const responseSession = firstHeader(upstreamRes.headers['mcp-session-id']);
    this.#resolveSession(this.#ctx.requestSession ?? responseSession);
    if (this.#req.method === 'DELETE' && this.#ctx.mcp && this.#ctx.requestSession !== undefined && status < 300)
      this.#ctx.closeSession(this.#ctx.requestSession);
    const headers = relayedHeaders(upstreamRes.headers);
    const type = String(upstreamRes.headers['content-type'] ?? '').toLowerCase();
    const sse = type.startsWith('text/event-stream');
    const json = type.startsWith('application/json');
    const observed = this.#ctx.mcp && (sse || json);
    const filter = this.#listRequest !== undefined && options.gate !== undefined;
    if (filter && json) return this.#filterJson(upstreamRes, status, headers);
    res.writeHead(status, upstreamRes.statusMessage, headers);
    if (!observed) return relayBody(upstreamRes, res, undefined, () => this.#finish());
    if (sse) {
      const parser = new SseParser(
        options.maxObservedBytes,
        (event) => {
          if (event.data !== '') this.#observeOutbound(event.data);
        },
        () => countOversize(options.telemetry, counters, 'outbound'),
      );
      if (filter) return this.#filterSse(upstreamRes, parser);
      relayBody(
        upstreamRes,
        res,
        (chunk) => afterRelay(() => parser.push(chunk)),
        () => afterRelay(() => this.#finish()),
      );
      return;
    }
    const parts: Buffer[] = [];
    let size = 0;
    relayBody(
      upstreamRes,
      res,
      (chunk) => {
        size += chunk.length;
        if (size <= options.maxObservedBytes) parts.push(chunk);
      },
      () =>
        afterRelay(() => {
          if (size > options.maxObservedBytes) countOversize(options.telemetry, counters, 'outbound');
          else if (size > 0) this.#observeOutbound(Buffer.concat(parts).toString('utf8'));
          this.#finish();
        }),
    );
  }

  /** `--enforce`, a `tools/list` answered as JSON: read whole, withheld tools removed, sent with a new length. */
  #filterJson(upstreamRes: IncomingMessage, status: number, headers: OutgoingHttpHeaders): void {
    const parts: Buffer[] = [];
    upstreamRes.on('data', (chunk: Buffer) => parts.push(chunk));
    upstreamRes.once('end', () => {
      const text = Buffer.concat(parts).toString('utf8');
      this.#observeOutbound(text);
      void this.#filtered(text).then((body) => {
        delete headers['content-length'];
        this.#res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
        this.#res.end(body);
        this.#finish();
      });
    });
  }

  /** `--enforce`, a `tools/list` answered over SSE: each event re-sent as parsed, the list result filtered. */
  #filterSse(upstreamRes: IncomingMessage, observe: SseParser): void {
    this.#res.flushHeaders();
    let chain: Promise<void> = Promise.resolve();
    const parser = new SseParser(
      Number.MAX_SAFE_INTEGER,
      (event) => {
        chain = chain.then(async () => {
          const data = await this.#filtered(event.data);
          this.#res.write(serializeSse({ ...event, data }));
        });
      },
      () => undefined,
    );
    upstreamRes.on('data', (chunk: Buffer) => {
      parser.push(chunk);
      guard('sse observation', () => observe.push(chunk));
    });
    upstreamRes.once('end', () => {
      void chain.then(() => {
        this.#res.end();
        this.#finish();
      });
    });
  }

  async #filtered(text: string): Promise<string> {
    const messages = jsonRpcMessages(text);
    const single = messages?.length === 1 ? messages[0] : undefined;
    const result = single?.['result'] as Record<string, unknown> | undefined;
    if (single === undefined || single['id'] !== this.#listRequest || !Array.isArray(result?.['tools'])) return text;
    const tools = result['tools'] as unknown[];
    const served = await this.#ctx.options.gate!.filterToolList(tools);
    return served.length === tools.length ? text : JSON.stringify({ ...single, result: { ...result, tools: served } });
  }

  upstreamFailed(error: Error): void {
    this.#ctx.options.logger.warn({ err: error }, 'Upstream request failed.');
    this.#resolveSession(this.#ctx.requestSession);
    if (!this.#res.headersSent) refuse(this.#res, 502, 'mcpwatch proxy: upstream unreachable');
    else this.#res.destroy();
    this.#finish();
  }
}

/** How long a response's headers wait for its first body bytes to leave with them. */
const HEADERS_ALONE_AFTER_MS = 2;

/**
 * Relays a response body as it arrives, one write per read of the upstream's socket. Read in paused mode, the
 * chunks one read parsed (one per chunked-encoding frame: an SSE stream has one per event) come out as one
 * buffer, so the proxy makes one write and the client gets one frame; the last one is written with the end.
 * The headers leave with the first bytes, or alone when none came within `HEADERS_ALONE_AFTER_MS` (a stream
 * the upstream holds open). `onChunk` sees each buffer after it was written.
 */
function relayBody(
  source: IncomingMessage,
  res: ServerResponse,
  onChunk: ((chunk: Buffer) => void) | undefined,
  onEnd: () => void,
): void {
  let full = false;
  const headersAlone = setTimeout(() => res.flushHeaders(), HEADERS_ALONE_AFTER_MS);
  const pump = (): void => {
    let chunk: Buffer | null;
    while (!full && (chunk = source.read() as Buffer | null) !== null) {
      clearTimeout(headersAlone);
      if (source.complete && source.readableLength === 0) res.end(chunk);
      else full = !res.write(chunk);
      onChunk?.(chunk);
    }
  };
  res.on('drain', () => {
    full = false;
    pump();
  });
  source.on('readable', pump);
  source.once('end', () => {
    clearTimeout(headersAlone);
    if (!res.writableEnded) res.end();
    onEnd();
  });
  source.once('error', () => {
    clearTimeout(headersAlone);
    res.destroy();
  });
}

/** Observation waiting for the relay's writes of this turn of the event loop: it never delays a relayed byte. */
const afterRelayQueue: (() => void)[] = [];

function afterRelay(work: () => void): void {
  if (afterRelayQueue.push(work) === 1) setImmediate(runAfterRelay);
}

function runAfterRelay(): void {
  for (const work of afterRelayQueue.splice(0)) guard('relay observation', work);
}

function serializeSse(event: SseEvent): string {
  let out = '';
  if (event.id !== undefined) out += `id: ${event.id}\n`;
  if (event.event !== undefined) out += `event: ${event.event}\n`;
  if (event.retry !== undefined) out += `retry: ${event.retry}\n`;
  for (const line of event.data.split('\n')) out += `data: ${line}\n`;
  return out + '\n';
}
