/**
 * `/healthz` (the process is running), `/readyz` (partitions restored and every sink healthy) and `/metrics`
 * (Prometheus text) on the shared HTTP server helper (Host allow-list, token). Nothing here reads a body.
 */
import type { Registry } from 'prom-client';
import { startHttpServer, type Readiness } from '../transport/http-server.ts';

export type { Readiness };

export interface OpsServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  registry: Registry;
  live(): boolean;
  ready(): Promise<Readiness>;
  /** Bearer tokens `/metrics` requires; default: `MCPWATCH_OPS_TOKEN` when set. Beyond loopback one is needed. */
  tokens?: readonly string[];
}

export interface OpsServer {
  /** `http://host:port`. */
  readonly address: string;
  close(): Promise<void>;
}

/** The probes stay open (kubelet sends no token); `/metrics` needs the token when one is configured. */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const envToken = process.env.MCPWATCH_OPS_TOKEN?.trim();
  const server = await startHttpServer({
    host: options.host,
    port: options.port,
    tokens: options.tokens ?? (envToken === undefined || envToken === '' ? [] : [envToken]),
    live: () => options.live(),
    ready: () => options.ready(),
    requestTimeoutMs: 10_000,
    handle: async (request, response, path) => {
      const reply = (status: number, type: string, body: string): void => {
        response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
      };
      if (request.method !== 'GET' && request.method !== 'HEAD') return reply(405, 'text/plain', 'GET only\n');
      if (path === '/metrics') return reply(200, options.registry.contentType, await options.registry.metrics());
      reply(404, 'text/plain', 'not found\n');
    },
  });
  return { address: server.url, close: () => server.close() };
}
