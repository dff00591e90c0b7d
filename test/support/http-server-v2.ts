/**
 * An MCP server on SDK 2.x served over Streamable HTTP by `createMcpHandler` (both protocol generations, one
 * server instance per request) on `node:http` through `toNodeHandler`; prints `listening <url>`. The test
 * chooses how mcpwatch is loaded.
 */
import { createServer } from 'node:http';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';

const handler = createMcpHandler(() => {
  const server = new McpServer(
    { name: 'fixture-http-v2', version: '2.0.0' },
    { instructions: 'Use echo to echo.', capabilities: { tools: {} } },
  );
  server.registerTool('echo', { description: 'Echoes.' }, () => ({ content: [{ type: 'text', text: 'echoed' }] }));
  return server;
});
const serve = toNodeHandler(handler);
// The adapter's request type is structural and stricter under exactOptionalPropertyTypes than node:http's.
const http = createServer((req, res) => void serve(req as Parameters<typeof serve>[0], res));
http.listen(0, '127.0.0.1', () => {
  const address = http.address();
  if (address !== null && typeof address === 'object') console.log(`listening http://127.0.0.1:${address.port}/mcp`);
});
process.on('SIGTERM', () => {
  http.close();
  void handler.close();
});
