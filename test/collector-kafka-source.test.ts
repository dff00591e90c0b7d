/**
 * The collector reads what a stock OpenTelemetry Collector's Kafka exporter writes (`otlp_proto`: the
 * protobuf of TracesData/LogsData, wire-identical to the Export*ServiceRequest messages), normalizes it like
 * OTLP/HTTP, and dead-letters a record that does not decode, unchanged and with its source.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { startCollector } from '../collector/collector.ts';
import { OtlpProto } from '../collector/otlp/proto.ts';
import { HEADERS } from '../transport/topics.ts';
import { KafkaTransport } from '../transport/kafka.ts';
import type { IncomingRecord } from '../transport/types.ts';
import { kafkaBrokers, uniqueTopic } from './support/kafka.ts';
import { quietLogger, readTopic } from './collector-support.ts';
import { waitFor } from './support/wait-for.ts';

void test('otlp_spans and otlp_logs records become events; an undecodable record is dead-lettered', async () => {
  const transport = new KafkaTransport({ brokers: kafkaBrokers() }, { logger: pino(quietLogger) });
  const events = uniqueTopic('kafka-source-events');
  const deadLetter = uniqueTopic('kafka-source-dlq');
  const spansTopic = uniqueTopic('otlp-spans');
  const logsTopic = uniqueTopic('otlp-logs');
  await transport.ensureTopics([
    { topic: spansTopic, partitions: 1 },
    { topic: logsTopic, partitions: 1 },
  ]);
  const traces = OtlpProto.ExportTraceServiceRequest;
  const spans = traces
    .encode(
      traces.fromObject({
        resourceSpans: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'gateway' } }] },
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: Buffer.alloc(16, 1),
                    spanId: Buffer.alloc(8, 2),
                    name: 'tools/call',
                    kind: 2,
                    startTimeUnixNano: '1767225600000000000',
                    endTimeUnixNano: '1767225600001000000',
                    attributes: [
                      { key: 'mcp.method.name', value: { stringValue: 'tools/call' } },
                      { key: 'mcp.session.id', value: { stringValue: 'via-otel-collector' } },
                    ],
                  },
                ],
              },
            ],
          },
        ],
      }),
    )
    .finish();
  const logs = OtlpProto.ExportLogsServiceRequest;
  const audit = logs
    .encode(
      logs.fromObject({
        resourceLogs: [
          {
            scopeLogs: [
              {
                logRecords: [
                  {
                    timeUnixNano: '1767225600000000000',
                    eventName: 'mcpwatch.session',
                    attributes: [{ key: 'mcpwatch.event.id', value: { stringValue: 'kafka-log-1' } }],
                    body: { kvlistValue: { values: [{ key: 'action', value: { stringValue: 'closed' } }] } },
                  },
                ],
              },
            ],
          },
        ],
      }),
    )
    .finish();
  const producer = await transport.producer();
  await producer.send(spansTopic, [
    { key: null, value: Buffer.from(spans) },
    { key: null, value: Buffer.from([0x0a, 0xff, 0xff, 0x01]), headers: { origin: 'otel-collector' } },
  ]);
  await producer.send(logsTopic, [{ key: null, value: Buffer.from(audit) }]);
  await producer.close();

  const collector = await startCollector(
    {
      port: 0,
      topics: { events, deadLetter, eventPartitions: 1 },
      kafkaSource: { groupId: uniqueTopic('collector-group'), spansTopic, logsTopic },
    },
    { transport, logger: pino(quietLogger) },
  );
  try {
    const stored = await waitFor(
      'two events in the events topic',
      async () => {
        const read = await readTopic(transport, events);
        return read.length >= 2 && read;
      },
      30_000,
      500,
    );
    const values = stored.map((record) => record.value as { kind: string; eventId: string; sessionId?: string });
    assert.deepEqual(values.map((value) => value.eventId).sort(), [
      'kafka-log-1',
      `span:${'01'.repeat(16)}:${'02'.repeat(8)}`,
    ]);
    assert.equal(values.find((value) => value.kind === 'call')?.sessionId, 'via-otel-collector');

    const letters: IncomingRecord[] = [];
    for await (const record of transport.readPartition(deadLetter, 0)) letters.push(record);
    assert.equal(letters.length, 1);
    const [letter] = letters;
    assert.deepEqual([...(letter?.value ?? [])], [0x0a, 0xff, 0xff, 0x01]);
    assert.equal(letter?.headers.origin, 'otel-collector');
    assert.equal(letter?.headers[HEADERS.deadLetterSource], `${spansTopic}/0/1`);
    assert.match(letter?.headers[HEADERS.deadLetterReason] ?? '', /^malformed protobuf ExportTraceServiceRequest/);
  } finally {
    await collector.close();
    await transport.close();
  }
});
