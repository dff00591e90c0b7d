/**
 * The local dashboard's HTTP side: the page (static, no CDN) and a small read-only JSON API over the store, on
 * the shared HTTP server helper: loopback by default, any other `Host` answered 421 and a foreign `Origin` 403
 * (DNS rebinding), a token required on every API request when set, and binding beyond loopback refused
 * without one.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { startHttpServer } from '../transport/http-server.ts';
import { PANEL_KQL } from './panels.ts';
import type { LocalDashboardStore } from './store.ts';

export interface DashboardServerOptions {
  store: LocalDashboardStore;
  host?: string;
  port?: number;
  /** Bearer token required on `/api/*`; the page takes it from the URL fragment `#token=...`. */
  token?: string;
  /** Host names accepted besides loopback and the bound address (e.g. a name a reverse proxy forwards). */
  allowedHosts?: readonly string[];
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
    if (url.pathname.startsWith('/api/alerts/')) {
      const detail = store.alertDetail(decodedSegment(url.pathname.slice('/api/alerts/'.length)));
      response
        .writeHead(detail === undefined ? 404 : 200, { 'content-type': 'application/json', ...SECURITY_HEADERS })
        .end(detail === undefined ? '{"error":"no such alert"}' : JSON.stringify(detail));
      return;
    }
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
    if (!url.pathname.startsWith('/api/')) {
      response.writeHead(404, { 'content-type': 'text/plain', ...SECURITY_HEADERS }).end('not found\n');
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

  const server = await startHttpServer({
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    tokens: options.token === undefined ? [] : [options.token],
    ...(options.allowedHosts === undefined ? {} : { allowedHosts: options.allowedHosts }),
    publicPaths: Object.keys(ASSETS),
    handle: respond,
  });
  return { url: `${server.url}/`, close: () => server.close() };
}

/** A path segment decoded; malformed percent-encoding reads as no id (answered 404, not 500). */
function decodedSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return '';
  }
}
