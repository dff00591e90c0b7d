import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isMcpwatchError } from '../../contracts/errors.ts';
import { EmbeddedTransport } from '../../transport/embedded.ts';
import { HEADERS } from '../../transport/topics.ts';
import { MAX_RECORD_BYTES } from '../../transport/types.ts';
import { createCollectorMetrics } from '../metrics.ts';
import type { McpEvent } from '../../contracts/mcp-event.ts';
import { EventProducer, type EventProducerOptions } from './event-producer.ts';

const options: EventProducerOptions = {
  eventsTopic: 'events',
  deadLetterTopic: 'dlq',
  maxBufferedRecords: 3,
  maxSendRecords: 100,
  unavailableMs: 60_000,
  maxUnavailableMs: 60_000,
};

function event(sessionId: string): McpEvent {
  return {
    schemaVersion: 1,
    kind: 'session',
    eventId: `e-${sessionId}`,
    time: '2026-01-01T00:00:00.000Z',
    server: { name: 'files' },
    sessionId,
    action: 'created',
  };
}

async function setUp(): Promise<{ transport: EmbeddedTransport; producer: EventProducer }> {
  const transport = new EmbeddedTransport();
  await transport.ensureTopics([
    { topic: 'events', partitions: 1 },
    { topic: 'dlq', partitions: 1 },
  ]);
  return { transport, producer: new EventProducer(await transport.producer(), options, createCollectorMetrics()) };
}

void test('a full buffer refuses at once with a retriable LIMIT_EXCEEDED; what was accepted is stored, keyed', async () => {
  const { transport, producer } = await setUp();
  // Synchronous calls: nothing is acknowledged in between, so the buffer holds what was accepted.
  const first = producer.deliver({ events: [event('a'), event('b')], deadLetters: [] });
  const refused = producer.deliver({ events: [event('c'), event('d')], deadLetters: [] });
  const third = producer.deliver({ events: [event('e')], deadLetters: [] });
  assert.equal(producer.bufferedRecords, 3);
  await assert.rejects(refused, (error) => isMcpwatchError(error, 'LIMIT_EXCEEDED') && error.retriable);
  const accepted = [first, third];
  await Promise.all(accepted);
  assert.equal(producer.bufferedRecords, 0);

  const stored = [];
  for await (const record of transport.readPartition('events', 0)) stored.push(record);
  assert.deepEqual(
    stored.map((record) => record.key),
    ['session:a', 'session:b', 'session:e'],
  );
  assert.equal(stored[0]?.headers[HEADERS.schemaVersion], '1');
  await producer.close();
  await assert.rejects(producer.deliver({ events: [event('f')], deadLetters: [] }), (error) =>
    isMcpwatchError(error, 'CLOSED'),
  );
  await transport.close();
});

void test('a failed send refuses the batch and, for a while, every new one with a retriable TRANSPORT_FAILED', async () => {
  const { transport, producer } = await setUp();
  await transport.close();
  await assert.rejects(
    producer.deliver({ events: [event('a')], deadLetters: [] }),
    (error) => isMcpwatchError(error, 'TRANSPORT_FAILED') && error.retriable,
  );
  assert.equal(producer.available, false);
  assert.ok(producer.retryAfterSeconds > 1);
  await assert.rejects(producer.deliver({ events: [event('b')], deadLetters: [] }), (error) =>
    isMcpwatchError(error, 'TRANSPORT_FAILED'),
  );
  assert.equal(producer.bufferedRecords, 0);
});

void test('deliver() called in the microtask run in which the previous delivery resolved still settles', async () => {
  const { transport, producer } = await setUp();
  // `.then` runs in the same microtask checkpoint that resolved the first delivery: no macrotask in between.
  const second = await producer.deliver({ events: [event('a')], deadLetters: [] }).then(() => {
    const next = producer.deliver({ events: [event('b')], deadLetters: [] });
    // A timer that fires only if `next` never settles turns a hang into a failure with a message.
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve('hung'), 5_000);
    });
    return Promise.race([next.then(() => 'settled'), hung]).finally(() => clearTimeout(timer));
  });
  assert.equal(second, 'settled');
  assert.equal(producer.bufferedRecords, 0);
  await producer.close();
  await transport.close();
});

void test('an event too large for one log record is dead-lettered as a summary; the rest of its batch is stored', async () => {
  const { transport, producer } = await setUp();
  // A catalog shaped by a hostile server: over the record limit Kafka brokers refuse by default.
  const huge: McpEvent = { ...event('huge'), server: { name: 'x'.repeat(MAX_RECORD_BYTES) } };
  await producer.deliver({ events: [event('a'), huge, event('b')], deadLetters: [] });

  const stored = [];
  for await (const record of transport.readPartition('events', 0)) stored.push(record);
  assert.deepEqual(
    stored.map((record) => record.key),
    ['session:a', 'session:b'],
  );
  const letters = [];
  for await (const record of transport.readPartition('dlq', 0)) letters.push(record);
  assert.equal(letters.length, 1);
  assert.match(letters[0]!.headers[HEADERS.deadLetterReason] ?? '', /over the \d+-byte record limit/);
  const letter = JSON.parse(letters[0]!.value.toString()) as { record: { eventId: string; bytes: number } };
  assert.equal(letter.record.eventId, 'e-huge');
  assert.ok(letter.record.bytes > MAX_RECORD_BYTES);
  assert.ok(letters[0]!.value.length < 4096, 'the dead letter holds a summary, not the event');
  await producer.close();
  await transport.close();
});
