/**
 * The one small HTTP server of mcpwatch's endpoints (OTLP receiver, detectors' ops endpoint, local dashboard):
 * listen (optionally TLS), bearer authentication, a Host and Origin allow-list against DNS rebinding, and
 * `/healthz` + `/readyz`. What each endpoint serves is its handler's business; nothing here reads a body.
 *
 * - Host: a browser page whose name was rebound to 127.0.0.1 still sends its own name as `Host`, so a loopback
 *   server answers any name but its own 421 (Misdirected Request). A server bound beyond loopback checks Host
 *   only when `allowedHosts` is given: there the token is the defence.
 * - Origin: a cross-site request carries the page's `Origin`; one that is not the server's own (or listed) is
 *   answered 403. Same-origin GETs carry none.
 * - Tokens are compared as HMACs under a per-process random key: equal length whatever was presented, so the
 *   comparison leaks neither the token nor its length.
 * - Binding beyond loopback without a token is refused unless `allowUnauthenticated` says it is meant.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { isIP, type AddressInfo } from 'node:net';
import { McpwatchError } from '../contracts/errors.ts';

export interface Readiness {
  ready: boolean;
  detail?: string;
}

export interface HttpServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Accepted bearer tokens; empty means none is required. */
  tokens: readonly string[];
  /** Paths answered without a token (besides `/healthz` and `/readyz`), e.g. a page's static assets. */
  publicPaths?: readonly string[];
  /** Host names (no port) accepted besides the loopback names and the bound address; `*` accepts any. */
  allowedHosts?: readonly string[];
  /** Origins (`scheme://host[:port]`) accepted besides the server's own. */
  allowedOrigins?: readonly string[];
  /** Allows binding beyond loopback without a token (e.g. behind an authenticating proxy). */
  allowUnauthenticated?: boolean;
  tls?: { cert: Buffer; key: Buffer; ca?: Buffer };
  /** `/healthz`: 200 while true, 503 otherwise; absent means always 200. */
  live?: () => boolean;
  /** `/readyz`; absent means the same as `/healthz`. */
  ready?: () => Promise<Readiness>;
  /** Everything else, after Host, Origin and (for non-public paths) the token were checked. */
  handle: (request: IncomingMessage, response: ServerResponse, path: string) => Promise<void>;
  /** Called with what `handle` threw when no answer was sent yet; the server then answers 500. */
  onError?: (error: unknown) => void;
  /** Whole request, from the first byte (ms). */
  requestTimeoutMs?: number;
  headersTimeoutMs?: number;
}

export interface RunningHttpServer {
  /** `http(s)://host:port`, without a trailing slash. */
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /** Whether the request carries an accepted bearer token (always true without tokens). */
  authorized(request: IncomingMessage): boolean;
  /** Stops accepting, lets requests in flight finish for up to `graceMs`, then cuts what is left. */
  close(graceMs?: number): Promise<void>;
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];

/** True for `localhost`, `*.localhost` (RFC 6761), any 127.0.0.0/8 address, `::1` and `::ffff:127.x.y.z`. */
export function isLoopback(host: string): boolean {
  const name = unbracket(host).toLowerCase();
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  const family = isIP(name);
  if (family === 4) return name.split('.', 1)[0] === '127';
  if (family === 6) {
    const mapped = /^(?:(?:0{1,4}:){5}|::(?:0{1,4}:)?)ffff:([\d.]+)$/.exec(name);
    if (mapped?.[1] !== undefined) return isLoopback(mapped[1]);
    return expandIpv6(name) === '0000:0000:0000:0000:0000:0000:0000:0001';
  }
  return false;
}

function isWildcard(host: string): boolean {
  const name = unbracket(host);
  return name === '0.0.0.0' || expandIpv6(name) === '0000:0000:0000:0000:0000:0000:0000:0000';
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** The eight groups of an IPv6 address, zero-padded, or undefined when it is not one. */
function expandIpv6(address: string): string | undefined {
  if (isIP(address) !== 6 || address.includes('.')) return undefined;
  const [head = '', tail] = address.split('::', 2);
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = tail === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array<string>(missing).fill('0'), ...right].map((group) => group.padStart(4, '0')).join(':');
}

/** The host name of a `Host` header (port and IPv6 brackets removed, lowercased), or undefined if malformed. */
export function hostNameOf(header: string | undefined): string | undefined {
  if (header === undefined || header === '' || header.length > 255) return undefined;
  const value = header.toLowerCase();
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    if (end < 0 || (end + 1 < value.length && !/^:\d{1,5}$/.test(value.slice(end + 1)))) return undefined;
    return value.slice(1, end);
  }
  const colon = value.indexOf(':');
  if (colon >= 0 && !/^\d{1,5}$/.test(value.slice(colon + 1))) return undefined;
  const name = colon >= 0 ? value.slice(0, colon) : value;
  return /^[a-z0-9.-]+$/.test(name) ? name.replace(/\.$/, '') : undefined;
}

export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const tokens = options.tokens.filter((token) => token !== '');
  if (tokens.length === 0 && !isLoopback(options.host) && options.allowUnauthenticated !== true) {
    throw new McpwatchError(
      'CONFIG_INVALID',
      `host: binding ${options.host} without authentication is refused; configure a token or allow unauthenticated access explicitly.`,
    );
  }
  const key = randomBytes(32);
  const mac = (token: string): Buffer => createHmac('sha256', key).update(token).digest();
  const accepted = tokens.map(mac);
  const authorized = (request: IncomingMessage): boolean => {
    if (accepted.length === 0) return true;
    const match = /^Bearer +(\S{1,4096}) *$/i.exec(request.headers.authorization ?? '');
    if (match?.[1] === undefined) return false;
    const presented = mac(match[1]);
    let ok = false;
    for (const token of accepted) ok = timingSafeEqual(token, presented) || ok;
    return ok;
  };

  const loopback = isLoopback(options.host);
  const anyHost = options.allowedHosts?.includes('*') === true || (!loopback && options.allowedHosts === undefined);
  const hosts = new Set([...LOOPBACK_NAMES, ...(options.allowedHosts ?? []).map((host) => host.toLowerCase())]);
  if (!isWildcard(options.host)) hosts.add(unbracket(options.host).toLowerCase());
  const publicPaths = new Set(options.publicPaths ?? []);
  const scheme = options.tls === undefined ? 'http' : 'https';
  let port = 0;

  const originAllowed = (origin: string): boolean => {
    if (options.allowedOrigins?.includes(origin) === true) return true;
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    const originPort = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
    const name = unbracket(url.hostname);
    return url.protocol === `${scheme}:` && originPort === port && (anyHost || hosts.has(name));
  };

  const reply = (response: ServerResponse, status: number, body: string): void => {
    response
      .writeHead(status, {
        'content-type': 'text/plain; charset=utf-8',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        ...(status === 401 ? { 'www-authenticate': 'Bearer realm="mcpwatch"' } : {}),
      })
      .end(body);
  };

  const listener = (request: IncomingMessage, response: ServerResponse): void => {
    const name = hostNameOf(request.headers.host);
    if (!anyHost && (name === undefined || !hosts.has(name))) {
      return reply(response, 421, 'Misdirected request: this server does not answer for that Host.\n');
    }
    const origin = request.headers.origin;
    if (origin !== undefined && !originAllowed(origin)) {
      return reply(response, 403, 'Forbidden: cross-origin requests are not accepted.\n');
    }
    const path = (request.url ?? '/').split('?', 1)[0] ?? '/';
    if (path === '/healthz' || path === '/readyz') {
      void health(path, response);
      return;
    }
    if (!publicPaths.has(path) && !authorized(request)) {
      return reply(response, 401, 'A valid bearer token is required.\n');
    }
    options.handle(request, response, path).catch((error: unknown) => {
      options.onError?.(error);
      if (!response.headersSent) reply(response, 500, 'Internal error.\n');
      else response.destroy();
    });
  };

  const health = async (path: string, response: ServerResponse): Promise<void> => {
    try {
      const live = options.live?.() ?? true;
      if (path === '/healthz' || options.ready === undefined) {
        return reply(response, live ? 200 : 503, live ? 'ok\n' : 'stopped\n');
      }
      const readiness = await options.ready();
      if (readiness.ready) return reply(response, 200, 'ready\n');
      return reply(response, 503, `not ready: ${readiness.detail ?? 'unknown'}\n`);
    } catch {
      if (!response.headersSent) reply(response, 503, 'not ready: health check failed\n');
    }
  };

  const server: Server =
    options.tls === undefined
      ? createHttpServer(listener)
      : createHttpsServer(
          options.tls.ca === undefined
            ? { cert: options.tls.cert, key: options.tls.key }
            : { ...options.tls, requestCert: true, rejectUnauthorized: true },
          listener,
        );
  server.requestTimeout = options.requestTimeoutMs ?? 30_000;
  server.headersTimeout = options.headersTimeoutMs ?? 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, unbracket(options.host), () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const shownHost = isIP(unbracket(options.host)) === 6 ? `[${unbracket(options.host)}]` : options.host;

  let closed: Promise<void> | undefined;
  return {
    url: `${scheme}://${shownHost}:${port}`,
    port,
    server,
    authorized,
    close: (graceMs = 0) =>
      (closed ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
        if (graceMs === 0) server.closeAllConnections();
      })),
  };
}
