/**
 * An MCP server on SDK 2.x (`@modelcontextprotocol/server`) over stdio, for the instrumentation's process-level
 * tests; the test chooses how mcpwatch is loaded. FIXTURE_SDK=newest|oldest picks the 2.x copy,
 * FIXTURE_ENTRY=serve|connect either `serveStdio` (both protocol generations: the opening message picks) or
 * `McpServer.connect(new StdioServerTransport())` (the 2025-era wiring).
 */
const sdk = process.env['FIXTURE_SDK'] === 'oldest' ? 'server-v2-oldest' : '@modelcontextprotocol/server';

interface McpServerLike {
  registerTool(
    name: string,
    config: { description: string },
    handler: () => { content: { type: 'text'; text: string }[]; isError?: boolean },
  ): void;
  connect(transport: unknown): Promise<void>;
}
const { McpServer } = (await import(sdk)) as {
  McpServer: new (info: { name: string; version: string }, options: object) => McpServerLike;
};
const { StdioServerTransport, serveStdio } = (await import(`${sdk}/stdio`)) as {
  StdioServerTransport: new () => unknown;
  serveStdio: (factory: () => McpServerLike) => unknown;
};

function create(): McpServerLike {
  const server = new McpServer(
    { name: 'fixture-stdio-v2', version: '2.0.0' },
    { instructions: 'Use echo to echo.', capabilities: { tools: { listChanged: true } } },
  );
  server.registerTool('echo', { description: 'Echoes.' }, () => ({ content: [{ type: 'text', text: 'echoed' }] }));
  server.registerTool('fail', { description: 'Always fails.' }, () => ({
    content: [{ type: 'text', text: 'failed' }],
    isError: true,
  }));
  return server;
}

if (process.env['FIXTURE_ENTRY'] === 'connect') await create().connect(new StdioServerTransport());
else serveStdio(create);
