/**
 * End to end with the real instrumentation: an MCP SDK server over stdio, loaded with mcpwatch's register,
 * exports to the collector, which produces to Kafka. Each request yields exactly one `call` event (the audit
 * record; mcpwatch's own spans are not counted twice), and every event carries the server's identity.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { pino } from 'pino';
import { startCollector } from '../collector/collector.ts';
import { KafkaTransport } from '../transport/kafka.ts';
import { kafkaBrokers, uniqueTopic } from './support/kafka.ts';
import { quietLogger, readTopic } from './collector-support.ts';
import { waitFor } from './support/wait-for.ts';

void test('an instrumented MCP server over stdio: one call event per request and the tool catalog in Kafka', async () => {
  const transport = new KafkaTransport({ brokers: kafkaBrokers() }, { logger: pino(quietLogger) });
  const events = uniqueTopic('collector-instrumented');
  const collector = await startCollector(
    { port: 0, topics: { events, eventPartitions: 3 } },
    { transport, logger: pino(quietLogger) },
  );
  try {
    const serviceName = `svc-${Math.random().toString(36).slice(2)}`;
    const client = new Client({ name: 'collector-e2e', version: '0.0.1' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [
          '--import',
          'tsx',
          '--import',
          './register.ts',
          fileURLToPath(new URL('./support/stdio-server.ts', import.meta.url)),
        ],
        env: {
          ...(process.env as Record<string, string>),
          OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
          OTEL_SERVICE_NAME: serviceName,
          OTEL_BLRP_SCHEDULE_DELAY: '50',
          OTEL_BSP_SCHEDULE_DELAY: '50',
        },
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        stderr: 'inherit',
      }),
    );
    await client.listTools();
    await client.callTool({ name: 'echo', arguments: {} });
    await client.callTool({ name: 'echo', arguments: {} });
    await client.close();

    type Stored = { kind: string; method?: string; tool?: string; server: { name: string }; eventId: string };
    const stored = await waitFor(
      'two tools/call events in the events topic',
      async () => {
        const read = (await readTopic(transport, events)).map((record) => record.value as Stored);
        return read.filter((event) => event.method === 'tools/call').length >= 2 && read;
      },
      30_000,
      500,
    );
    const toolCalls = stored.filter((event) => event.kind === 'call' && event.method === 'tools/call');
    assert.equal(toolCalls.length, 2, JSON.stringify(stored));
    assert.deepEqual(
      toolCalls.map((event) => event.tool),
      ['echo', 'echo'],
    );
    assert.equal(new Set(stored.map((event) => event.eventId)).size, stored.length);
    assert.ok(
      stored.some((event) => event.kind === 'tool-catalog'),
      JSON.stringify(stored.map((event) => event.kind)),
    );
    for (const event of stored) assert.equal(event.server.name, 'fixture-stdio');
    const skipped = await collector.metrics.registry.getSingleMetricAsString(
      'mcpwatch_collector_skipped_records_total',
    );
    assert.match(skipped, /signal="span",reason="covered-by-audit-log"} [1-9]/);
  } finally {
    await collector.close();
    await transport.close();
  }
});
