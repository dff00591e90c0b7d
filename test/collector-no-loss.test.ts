/**
 * No loss. A stream of OTLP exports goes to the collector while its Kafka broker restarts (a broker of this
 * test's own, so the shared one is not disturbed): the client retries as OTLP exporters do on 429/503 with
 * `Retry-After`, and every event sent must arrive in the events topic, with the content sent. Then the
 * collector is stopped in the middle of a second stream: every export it answered 2xx must be stored.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { startCollector } from '../collector/collector.ts';
import { OtlpProto } from '../collector/otlp/proto.ts';
import { startKafkaBroker, type KafkaBroker } from '../deploy/kafka/broker.ts';
import { KafkaTransport } from '../transport/kafka.ts';
import { uniqueTopic } from './support/kafka.ts';
import { quietLogger, readTopic } from './collector-support.ts';

const RECORDS_PER_EXPORT = 5;
const events = uniqueTopic('collector-no-loss');
let broker: KafkaBroker;
let transport: KafkaTransport;

before(async () => {
  broker = await startKafkaBroker();
  // Few client retries: sends fail while the broker is down, so the collector must refuse with 503 meanwhile.
  transport = new KafkaTransport(
    { brokers: broker.brokers, retry: { retries: 3, maxRetryTimeMs: 500 } },
    { logger: pino(quietLogger) },
  );
});

after(async () => {
  await transport.close();
  await broker.stop();
});

interface Sent {
  eventId: string;
  sessionId: string;
  sequence: number;
}

/** One export of `mcpwatch.session` audit records, as the instrumentation sends them. */
function sessionExport(stream: string, first: number): { body: Uint8Array; sent: Sent[] } {
  const sent: Sent[] = [];
  const logRecords = [];
  for (let sequence = first; sequence < first + RECORDS_PER_EXPORT; sequence++) {
    const eventId = randomUUID();
    const sessionId = `${stream}-${sequence % 7}`;
    sent.push({ eventId, sessionId, sequence });
    logRecords.push({
      timeUnixNano: String(1_767_225_600_000_000_000n + BigInt(sequence) * 1_000_000n),
      eventName: 'mcpwatch.session',
      attributes: [
        { key: 'mcpwatch.event.id', value: { stringValue: eventId } },
        { key: 'mcp.server.name', value: { stringValue: 'files' } },
      ],
      body: {
        kvlistValue: {
          values: [
            { key: 'action', value: { stringValue: 'created' } },
            { key: 'sessionId', value: { stringValue: sessionId } },
            { key: 'sequence', value: { intValue: sequence } },
          ],
        },
      },
    });
  }
  const type = OtlpProto.ExportLogsServiceRequest;
  return { body: type.encode(type.fromObject({ resourceLogs: [{ scopeLogs: [{ logRecords }] }] })).finish(), sent };
}

interface Refusals {
  count: number;
  restartFailed?: unknown;
}

/** Like an OTLP exporter: 429/503 are retried after `Retry-After`; anything else is a test failure. */
async function exportUntilAccepted(url: string, body: Uint8Array, refusals: Refusals): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (refusals.restartFailed !== undefined)
      assert.fail(
        `the broker did not restart: ${refusals.restartFailed instanceof Error ? refusals.restartFailed.message : 'unknown'}`,
      );
    const response = await fetch(`${url}/v1/logs`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/x-protobuf' },
    });
    await response.arrayBuffer();
    if (response.status === 200) return;
    assert.ok(response.status === 429 || response.status === 503, `unexpected status ${response.status}`);
    refusals.count++;
    await sleep(Math.min(Number(response.headers.get('retry-after') ?? '1'), 2) * 1000);
  }
  assert.fail('an export was never accepted');
}

void test('every event sent while the broker restarts arrives, count and content', async () => {
  const collector = await startCollector(
    {
      port: 0,
      topics: { events, eventPartitions: 3 },
      buffer: { maxRecords: 200, unavailableMs: 200, maxUnavailableMs: 1000 },
    },
    { transport, logger: pino(quietLogger) },
  );
  // The stream spans the whole restart, however fast this machine is: it starts before, keeps going while the
  // broker is down and coming back, and ends a few exports after the broker is ready again.
  const before = 15;
  const afterRestart = 20;
  const sent: Sent[] = [];
  const refusals: Refusals = { count: 0 };
  let restart: Promise<void> | undefined;
  let exportsAtRestart: number | undefined;
  let next = 0;
  const more = (): boolean => next < before || exportsAtRestart === undefined || next < exportsAtRestart + afterRestart;
  const worker = async (): Promise<void> => {
    while (more()) {
      const index = next++;
      if (index === before) {
        restart = broker.restart().then(() => {
          exportsAtRestart = next;
        });
        // A broker that does not come back is this test's failure, not 200 refused retries per export.
        restart.catch((error: unknown) => (refusals.restartFailed ??= error));
      }
      const batch = sessionExport('restart', index * RECORDS_PER_EXPORT);
      await exportUntilAccepted(collector.url, batch.body, refusals);
      sent.push(...batch.sent);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  await restart;
  await collector.close();
  const exportsCount = next;

  const stored = await readTopic(transport, events);
  const byId = new Map<string, unknown>();
  for (const record of stored) {
    const value = record.value as { eventId: string; sessionId: string };
    assert.equal(record.key, `session:${value.sessionId}`);
    byId.set(value.eventId, value);
  }
  assert.equal(sent.length, exportsCount * RECORDS_PER_EXPORT);
  assert.equal(byId.size, sent.length, `missing ${sent.length - byId.size} of ${sent.length}`);
  for (const { eventId, sessionId, sequence } of sent) {
    assert.deepEqual(byId.get(eventId), {
      schemaVersion: 1,
      kind: 'session',
      eventId,
      time: new Date(Date.UTC(2026, 0, 1) + sequence).toISOString(),
      action: 'created',
      sessionId,
      sequence,
      server: { name: 'files' },
    });
  }
  assert.ok(refusals.count > 0, 'the collector never refused while the broker was down');
  // Duplicates may only come from a retried send (at least once); the eventId lets consumers drop them.
  assert.ok(stored.length - byId.size <= sent.length, `duplicates: ${stored.length - byId.size}`);
  console.log(
    `restart: ${sent.length} sent, ${byId.size} stored, ${stored.length - byId.size} duplicates, ${refusals.count} refusals`,
  );
});

void test('a collector stopped mid-stream leaves nothing half-sent: every 2xx export is stored', async () => {
  const topic = uniqueTopic('collector-stop');
  const collector = await startCollector(
    { port: 0, topics: { events: topic, eventPartitions: 3 } },
    { transport, logger: pino(quietLogger) },
  );
  const acknowledged: Sent[] = [];
  let refused = 0;
  let index = 0;
  let closing: Promise<void> | undefined;
  const worker = async (): Promise<void> => {
    for (let attempt = 0; attempt < 100 && closing === undefined; attempt++) {
      const batch = sessionExport('stop', index++ * RECORDS_PER_EXPORT);
      if (index === 20) closing = collector.close();
      try {
        const response = await fetch(`${collector.url}/v1/logs`, {
          method: 'POST',
          body: batch.body,
          headers: { 'content-type': 'application/x-protobuf' },
        });
        await response.arrayBuffer();
        if (response.status === 200) acknowledged.push(...batch.sent);
        else refused++;
      } catch {
        refused++; // connection refused or reset once the listener is closed
      }
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  await closing;
  const stored = new Set(
    (await readTopic(transport, topic)).map((record) => (record.value as { eventId: string }).eventId),
  );
  assert.ok(acknowledged.length > 0);
  for (const { eventId } of acknowledged) assert.ok(stored.has(eventId), `acknowledged ${eventId} is not stored`);
  assert.equal(
    await collector.metrics.registry
      .getSingleMetricAsString('mcpwatch_collector_buffer_records')
      .then((text) => /buffer_records 0$/m.test(text)),
    true,
  );
  console.log(`stop: ${acknowledged.length} acknowledged and stored, ${refused} exports refused`);
});
