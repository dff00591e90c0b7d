/**
 * Hosts one demo MCP server over Streamable HTTP the way the SDK's examples do: stateful, one `McpServer` per
 * session, optionally behind the SDK's own bearer-auth middleware. Nothing here knows about mcpwatch: the
 * instrumentation comes from `--import mcpwatch/register` on the command line, as it would for any user.
 */
import { randomUUID } from 'node:crypto';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import type { OAuthTokenVerifier } from '@modelcontextprotocol/sdk/server/auth/provider.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Request, Response } from 'express';

export interface DemoServerSpec {
  name: string;
  version: string;
  instructions?: string;
  /** Registers tools on one session's server. Called once per session. */
  build(server: McpServer): void;
}

export interface HostOptions {
  port?: number;
  verifier?: OAuthTokenVerifier;
  requiredScopes?: string[];
}

export interface HostedServer {
  url: string;
  close(): Promise<void>;
}

export async function hostOverHttp(spec: DemoServerSpec, options: HostOptions = {}): Promise<HostedServer> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const app = createMcpExpressApp({ host: '127.0.0.1' });
  if (options.verifier !== undefined) {
    app.use(
      '/mcp',
      requireBearerAuth({
        verifier: options.verifier,
        ...(options.requiredScopes === undefined ? {} : { requiredScopes: options.requiredScopes }),
      }),
    );
  }

  const handle = async (req: Request, res: Response): Promise<void> => {
    const sessionId = req.header('mcp-session-id');
    let transport = sessionId === undefined ? undefined : sessions.get(sessionId);
    if (transport === undefined) {
      if (sessionId !== undefined || req.method !== 'POST') {
        res.status(404).json({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
        return;
      }
      const created = new StreamableHTTPServerTransport({
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
    await transport.handleRequest(req, res, req.body);
  };
  app.all('/mcp', (req: Request, res: Response) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent)
        res.status(500).json({ jsonrpc: '2.0', error: { code: -32603, message: String(error) }, id: null });
    });
  });

  const http = await new Promise<HttpServer>((resolve) => {
    const listening = app.listen(options.port ?? 0, '127.0.0.1', () => resolve(listening));
  });
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
