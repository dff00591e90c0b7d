/**
 * `instrument()` with the real SDK over its in-memory transport: protocol behaviour is unchanged, the catalog is
 * re-read on `list_changed`, and a second `instrument()` adds nothing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { instrument } from './instrument.ts';

function fixture(): McpServer {
  const server = new McpServer({ name: 'in-memory', version: '1.0.0' });
  server.tool('add', 'Adds.', { a: z.number(), b: z.number() }, ({ a, b }) => ({
    content: [{ type: 'text', text: String(a + b) }],
  }));
  server.tool('fail', 'Fails.', () => ({ content: [{ type: 'text', text: 'no' }], isError: true }));
  return server;
}

/** The same client conversation; returns every answer the client saw. */
async function converse(server: McpServer): Promise<unknown[]> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'c', version: '1' });
  await client.connect(clientSide);
  const answers: unknown[] = [client.getServerVersion(), client.getServerCapabilities()];
  answers.push(await client.listTools());
  answers.push(await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } }));
  answers.push(await client.callTool({ name: 'fail', arguments: {} }));
  answers.push(await client.callTool({ name: 'add', arguments: { a: 'x' } }));
  answers.push(
    await client.request({ method: 'nope', params: {} }, z.object({})).catch((error: Error) => error.message),
  );
  server.tool('late', 'Registered after connect.', () => ({ content: [] }));
  answers.push(await client.listTools());
  await client.close();
  return answers;
}

function providers() {
  const logs = new InMemoryLogRecordExporter();
  const spans = new InMemorySpanExporter();
  return {
    logs,
    spans,
    options: {
      loggerProvider: new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: logs })] }),
      tracerProvider: new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }),
    },
  };
}

void test('an instrumented server answers exactly like an uninstrumented one', async () => {
  const bare = await converse(fixture());
  const { options, spans } = providers();
  const instrumented = await converse(instrument(fixture(), options));
  assert.deepEqual(instrumented, bare);
  assert.ok(spans.getFinishedSpans().length >= 6);
});

void test('list_changed re-reads the catalog through the server, and instrumenting twice adds nothing', async () => {
  const { options, logs, spans } = providers();
  const server = instrument(instrument(fixture(), options), options);
  await converse(server);
  await new Promise((resolve) => setImmediate(resolve));
  const events = logs.getFinishedLogRecords();
  const changed = events.filter((record) => (record.body as { trigger?: string }).trigger === 'list-changed');
  assert.ok(changed.length >= 1);
  const names = (changed.at(-1)?.body as { tools: { name: string }[] }).tools.map((tool) => tool.name);
  assert.deepEqual(names.sort(), ['add', 'fail', 'late']);
  const addCalls = spans.getFinishedSpans().filter((span) => span.name === 'tools/call add');
  assert.equal(addCalls.length, 2);
  const callEvents = events.filter((record) => record.eventName === 'mcpwatch.call');
  assert.equal(
    callEvents.length,
    new Set(callEvents.map((record) => (record.body as { requestId: string }).requestId)).size,
  );
});
