/**
 * Standard OTel exporters (protobuf and JSON traces, protobuf logs) pointed at the collector unchanged; what
 * they send must arrive normalized in the events topic on the real broker, keyed and versioned.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { startCollector, type RunningCollector } from '../collector/collector.ts';
import { HEADERS } from '../transport/topics.ts';
import { KafkaTransport } from '../transport/kafka.ts';
import { kafkaBrokers, uniqueTopic } from './support/kafka.ts';
import { mcpTelemetry, projected, quietLogger, readTopic } from './collector-support.ts';

const events = uniqueTopic('collector-events');
const deadLetter = uniqueTopic('collector-dlq');
let transport: KafkaTransport;
let collector: RunningCollector;

before(async () => {
  transport = new KafkaTransport({ brokers: kafkaBrokers() });
  collector = await startCollector(
    { port: 0, topics: { events, deadLetter, eventPartitions: 3 } },
    { transport, logger: pino(quietLogger) },
  );
});

after(async () => {
  await collector.close();
  await transport.close();
});

void test('spans from another MCP instrumentation (protobuf and JSON exporters) and mcpwatch audit logs arrive as McpEvents', async () => {
  const proto = mcpTelemetry(collector.url, 'protobuf');
  const json = mcpTelemetry(collector.url, 'json');
  proto.call({
    'mcp.method.name': 'tools/call',
    'gen_ai.tool.name': 'get_weather',
    'mcp.session.id': 'session-proto',
    'jsonrpc.request.id': 7,
    'mcp.protocol.version': '2025-06-18',
    'client.address': '127.0.0.1',
    'network.transport': 'tcp',
    'network.protocol.name': 'http',
  });
  json.call({
    'mcp.method.name': 'resources/read',
    'mcp.resource.uri': 'https://u:p@x.test/a?token=1',
    'error.type': '-32602',
  });
  // Not MCP: counted and skipped, never an event.
  json.call({ 'http.request.method': 'GET' });
  const authId = proto.audit('mcpwatch.auth', {
    time: '2026-01-02T03:04:05.000Z',
    sessionId: 'session-proto',
    outcome: 'rejected',
    reason: 'audience mismatch',
  });
  await Promise.all([proto.flush(), json.flush()]);
  await Promise.all([proto.shutdown(), json.shutdown()]);

  const records = await readTopic(transport, events);
  assert.equal(records.length, 3, JSON.stringify(records));
  for (const record of records) assert.equal(record.headers[HEADERS.schemaVersion], '1');

  const byMethod = new Map(records.map((record) => [(record.value as { method?: string }).method ?? 'audit', record]));
  const protoCall = byMethod.get('tools/call');
  assert.equal(protoCall?.key, 'session:session-proto');
  const protoExpected = {
    schemaVersion: 1,
    kind: 'call',
    tool: 'get_weather',
    sessionId: 'session-proto',
    requestId: '7',
    protocolVersion: '2025-06-18',
    outcome: 'ok',
    transport: 'streamable-http',
    client: { address: '127.0.0.1' },
    server: { name: 'weather-server', version: '1.2.3', instanceId: 'instance-1', host: 'host-a' },
  };
  assert.deepEqual(projected(protoCall.value, protoExpected), protoExpected);
  assert.match((protoCall.value as { eventId: string }).eventId, /^span:[0-9a-f]{32}:[0-9a-f]{16}$/);

  const jsonCall = byMethod.get('resources/read');
  assert.equal(jsonCall?.key, 'server:weather-server');
  const jsonExpected = { kind: 'call', outcome: 'error', errorType: '-32602', resourceUri: 'https://x.test/a' };
  assert.deepEqual(projected(jsonCall.value, jsonExpected), jsonExpected);

  const auth = byMethod.get('audit');
  assert.equal(auth?.key, 'session:session-proto');
  assert.deepEqual(auth.value, {
    schemaVersion: 1,
    kind: 'auth',
    eventId: authId,
    time: '2026-01-02T03:04:05.000Z',
    sessionId: 'session-proto',
    outcome: 'rejected',
    reason: 'audience mismatch',
    server: { name: 'weather', version: '1.2.3', instanceId: 'instance-1', host: 'host-a' },
  });

  const metrics = await collector.metrics.registry.getSingleMetricAsString('mcpwatch_collector_skipped_records_total');
  assert.match(metrics, /signal="span",reason="not-mcp"} 1/);
});
