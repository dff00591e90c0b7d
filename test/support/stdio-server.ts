/**
 * An MCP server over stdio for the instrumentation's process-level tests; the test chooses how mcpwatch is
 * loaded (`--import mcpwatch/register`, `require`) so that this file itself never mentions it.
 * FIXTURE_SDK=newest|oldest picks the SDK copy, FIXTURE_API=mcp|low the high- or low-level server.
 */
const sdk = process.env['FIXTURE_SDK'] === 'oldest' ? 'sdk-oldest' : '@modelcontextprotocol/sdk';

interface ServerModule {
  Server: new (
    info: { name: string; version: string },
    options: object,
  ) => {
    setRequestHandler(schema: unknown, handler: (request: { params: { name?: string } }) => unknown): void;
    connect(transport: unknown): Promise<void>;
  };
}
interface McpModule {
  McpServer: new (
    info: { name: string; version: string },
    options: object,
  ) => {
    tool(name: string, description: string, handler: () => unknown): void;
    connect(transport: unknown): Promise<void>;
  };
}

const { StdioServerTransport } = (await import(`${sdk}/server/stdio.js`)) as {
  StdioServerTransport: new () => unknown;
};
const info = { name: 'fixture-stdio', version: '1.2.3' };
const options = { instructions: 'Use echo to echo.', capabilities: { tools: { listChanged: true } } };

if (process.env['FIXTURE_API'] === 'low') {
  const { Server } = (await import(`${sdk}/server/index.js`)) as ServerModule;
  const { ListToolsRequestSchema, CallToolRequestSchema } = (await import(`${sdk}/types.js`)) as Record<
    string,
    unknown
  >;
  const server = new Server(info, options);
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: [{ name: 'echo', description: 'Echoes.', inputSchema: { type: 'object', properties: {} } }],
  }));
  server.setRequestHandler(CallToolRequestSchema, (request) =>
    request.params.name === 'echo'
      ? { content: [{ type: 'text', text: 'echoed' }] }
      : { content: [{ type: 'text', text: 'no such tool' }], isError: true },
  );
  await server.connect(new StdioServerTransport());
} else {
  const { McpServer } = (await import(`${sdk}/server/mcp.js`)) as McpModule;
  const server = new McpServer(info, options);
  server.tool('echo', 'Echoes.', () => ({ content: [{ type: 'text', text: 'echoed' }] }));
  server.tool('fail', 'Always fails.', () => ({ content: [{ type: 'text', text: 'failed' }], isError: true }));
  await server.connect(new StdioServerTransport());
}
