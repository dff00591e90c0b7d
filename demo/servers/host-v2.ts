/**
 * Hosts one demo MCP server built on SDK 2.x (`@modelcontextprotocol/server`) over Streamable HTTP, stateful
 * like `host.ts` (one `McpServer` per session, `NodeStreamableHTTPServerTransport` from
 * `@modelcontextprotocol/node`), so the same demo client talks to 1.x and 2.x servers alike. Nothing here knows
 * about mcpwatch: `--import mcpwatch/register` instruments both SDK lines.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import { McpServer } from '@modelcontextprotocol/server';
import type { HostedServer, HostOptions } from './host.ts';

export interface DemoServerSpecV2 {
  name: string;
  version: string;
  instructions?: string;
  /** Registers tools on one session's server. Called once per session. */
  build(server: McpServer): void;
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost']);

function reply(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
}

export async function hostOverHttpV2(
  spec: DemoServerSpecV2,
  options: Pick<HostOptions, 'port'> = {},
): Promise<HostedServer> {
  const sessions = new Map<string, NodeStreamableHTTPServerTransport>();
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // DNS rebinding protection, as the 1.x host gets from createMcpExpressApp.
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (!LOCAL_HOSTS.has(host)) return reply(res, 403, 'Forbidden host');
    if (new URL(req.url ?? '/', 'http://127.0.0.1').pathname !== '/mcp') return reply(res, 404, 'Not found');
    const sessionId = req.headers['mcp-session-id'];
    let transport = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    if (transport === undefined) {
      if (sessionId !== undefined || req.method !== 'POST') return reply(res, 404, 'Session not found');
      const created = new NodeStreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => void sessions.set(id, created),
      });
      created.onclose = () => {
        if (created.sessionId !== undefined) sessions.delete(created.sessionId);
      };
      const server = new McpServer(
        { name: spec.name, version: spec.version },
        {
          capabilities: { tools: { listChanged: true } },
          ...(spec.instructions === undefined ? {} : { instructions: spec.instructions }),
        },
      );
      spec.build(server);
      await server.connect(created);
      transport = created;
    }
    await transport.handleRequest(req, res);
  };
  const http = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) reply(res, 500, String(error));
    });
  });
  await new Promise<void>((resolve) => http.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: async () => {
      await Promise.allSettled([...sessions.values()].map((transport) => transport.close()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
