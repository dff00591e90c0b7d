/**
 * `/healthz` (the process is running), `/readyz` (partitions restored and every sink healthy) and `/metrics`
 * (Prometheus text) on a small node:http server. GET only; nothing here reads a request body.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface Readiness {
  ready: boolean;
  detail?: string;
}

export interface OpsServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  registry: Registry;
  live(): boolean;
  ready(): Promise<Readiness>;
}

export interface OpsServer {
  /** `http://host:port`. */
  readonly address: string;
  close(): Promise<void>;
}

export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const server: Server = createServer((request, response) => {
    const reply = (status: number, type: string, body: string): void => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
    };
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') return reply(405, 'text/plain', 'GET only\n');
    const handle = async (): Promise<void> => {
      if (path === '/healthz') {
        return options.live() ? reply(200, 'text/plain', 'ok\n') : reply(503, 'text/plain', 'stopped\n');
      }
      if (path === '/readyz') {
        const readiness = await options.ready();
        return readiness.ready
          ? reply(200, 'text/plain', 'ready\n')
          : reply(503, 'text/plain', `not ready: ${readiness.detail ?? 'unknown'}\n`);
      }
      if (path === '/metrics') return reply(200, options.registry.contentType, await options.registry.metrics());
      reply(404, 'text/plain', 'not found\n');
    };
    handle().catch((error: unknown) => {
      if (!response.headersSent) reply(500, 'text/plain', `${error instanceof Error ? error.message : 'error'}\n`);
      else response.destroy();
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    address: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
      }),
  };
}
