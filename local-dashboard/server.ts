/**
 * The local dashboard's HTTP side: the page (static, no CDN) and a small read-only JSON API over the store.
 * Bound to loopback by default; a token, when set, is required on every API request.
 */
import { timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { PANEL_KQL } from './panels.ts';
import type { LocalDashboardStore } from './store.ts';

export interface DashboardServerOptions {
  store: LocalDashboardStore;
  host?: string;
  port?: number;
  /** Bearer token required on `/api/*`; the page takes it from the URL fragment `#token=...`. */
  token?: string;
}

export interface DashboardServer {
  url: string;
  close(): Promise<void>;
}

const PAGE_DIR = fileURLToPath(new URL('./page/', import.meta.url));
const ASSETS: Readonly<Record<string, string>> = {
  '/': 'index.html',
  '/app.js': 'app.js',
  '/styles.css': 'styles.css',
};
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const { store } = options;
  const expectedAuthorization = options.token === undefined ? undefined : Buffer.from(`Bearer ${options.token}`);

  const authorized = (request: IncomingMessage): boolean => {
    if (expectedAuthorization === undefined) return true;
    const given = Buffer.from(request.headers.authorization ?? '');
    return given.length === expectedAuthorization.length && timingSafeEqual(given, expectedAuthorization);
  };

  const api = (url: URL): unknown => {
    switch (url.pathname) {
      case '/api/summary':
        return store.summary();
      case '/api/alerts': {
        const param = (name: string): string | undefined => url.searchParams.get(name)?.slice(0, 256) || undefined;
        const filter = { ruleId: param('rule'), severity: param('severity'), text: param('q') };
        return store
          .alerts(Object.fromEntries(Object.entries(filter).filter(([, value]) => value !== undefined)))
          .slice(0, 500);
      }
      case '/api/sessions':
        return store.sessionViews().slice(0, 500);
      case '/api/catalog':
        return store.catalog();
      case '/api/kql':
        return PANEL_KQL;
      default:
        return undefined;
    }
  };

  const respond = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', ...SECURITY_HEADERS }).end();
      return;
    }
    const asset = ASSETS[url.pathname];
    if (asset !== undefined) {
      const body = await readFile(PAGE_DIR + asset);
      response
        .writeHead(200, { 'content-type': CONTENT_TYPES[asset.split('.').pop()!]!, ...SECURITY_HEADERS })
        .end(body);
      return;
    }
    if (url.pathname === '/healthz') {
      response.writeHead(200, { 'content-type': 'text/plain', ...SECURITY_HEADERS }).end('ok\n');
      return;
    }
    if (!url.pathname.startsWith('/api/')) {
      response.writeHead(404, { 'content-type': 'text/plain', ...SECURITY_HEADERS }).end('not found\n');
      return;
    }
    if (!authorized(request)) {
      response
        .writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer', ...SECURITY_HEADERS })
        .end(JSON.stringify({ error: 'a bearer token is required' }));
      return;
    }
    const body = api(url);
    if (body === undefined) {
      response
        .writeHead(404, { 'content-type': 'application/json', ...SECURITY_HEADERS })
        .end('{"error":"no such API"}');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json', ...SECURITY_HEADERS }).end(JSON.stringify(body));
  };

  const server = createServer((request, response) => {
    respond(request, response).catch(() => {
      if (!response.headersSent) response.writeHead(500, SECURITY_HEADERS);
      response.end();
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
