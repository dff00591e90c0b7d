/** The transport contract on the embedded log, plus what only the embedded log has: its memory cap. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isMcpwatchError } from '../contracts/errors.ts';
import { EmbeddedTransport } from './embedded.ts';
import { createTransport } from './index.ts';
import { murmur2 } from './murmur2.ts';
import { describeTransportContract } from '../test/support/transport-contract.ts';
import type { IncomingRecord, Transport } from './types.ts';

// A small batch size, so the suite also covers records of one partition split over several batches.
describeTransportContract('embedded', () => new EmbeddedTransport({ maxBatchRecords: 7 }));

async function readAll(transport: Transport, topic: string): Promise<string[]> {
  const values: string[] = [];
  for await (const record of transport.readPartition(topic, 0)) values.push(record.value.toString());
  return values;
}

void describe('embedded transport', () => {
  void it('partitions keys with the murmur2 of the Java client (its published test vectors)', () => {
    const vectors: [string, number][] = [
      ['21', -973_932_308],
      ['foobar', -790_332_482],
      ['a-little-bit-long-string', -985_981_536],
      ['a-little-bit-longer-string', -1_486_304_829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58_897_971],
      ['abc', 479_470_107],
    ];
    for (const [input, expected] of vectors) assert.equal(murmur2(Buffer.from(input)), expected, input);
  });

  void it('refuses a send beyond the per-topic memory cap with LIMIT_EXCEEDED and appends nothing of it', async () => {
    const transport = new EmbeddedTransport({ maxBytesPerTopic: 100 });
    await transport.ensureTopics([{ topic: 'events', partitions: 1 }]);
    const producer = await transport.producer();
    await producer.send('events', [{ key: 'k', value: 'x'.repeat(59) }]);
    await assert.rejects(
      producer.send('events', [
        { key: 'k', value: 'y' },
        { key: 'k', value: 'z'.repeat(59) },
      ]),
      (error: unknown) => isMcpwatchError(error, 'LIMIT_EXCEEDED') && /events is full/.test(error.message),
    );
    assert.deepEqual(await readAll(transport, 'events'), ['x'.repeat(59)]);
    await assert.rejects(producer.send('events', [{ key: 'k', value: 'v', partition: 1 }]), (error: unknown) =>
      isMcpwatchError(error, 'TRANSPORT_FAILED'),
    );
    await transport.close();
  });

  void it('frees records every reading group has committed past, and only those', async () => {
    const transport = new EmbeddedTransport({ maxBytesPerTopic: 100 });
    await transport.ensureTopics([{ topic: 'events', partitions: 1 }]);
    const producer = await transport.producer();
    await producer.send('events', [{ key: 'k', value: 'a'.repeat(59) }]);
    const consumer = await transport.consumer({ groupId: 'detectors', topics: ['events'] });
    const seen: IncomingRecord[] = [];
    const done = consumer.run({
      onBatch: (batch) => {
        seen.push(...batch.records);
        return Promise.resolve();
      },
    });
    for (let turn = 0; turn < 1000 && seen.length === 0; turn++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(seen.length, 1);
    // Delivered but not committed: still needed for redelivery, so the cap holds.
    await assert.rejects(producer.send('events', [{ key: 'k', value: 'b'.repeat(59) }]), (error: unknown) =>
      isMcpwatchError(error, 'LIMIT_EXCEEDED'),
    );
    await consumer.commit([{ topic: 'events', partition: 0, offset: '1' }]);
    await producer.send('events', [{ key: 'k', value: 'b'.repeat(59) }]);
    assert.deepEqual(await readAll(transport, 'events'), ['b'.repeat(59)]);
    await consumer.close();
    await done;
    await transport.close();
  });

  void it('keeps a compacted topic within its cap by dropping superseded records', async () => {
    const transport = new EmbeddedTransport({ maxBytesPerTopic: 100 });
    await transport.ensureTopics([{ topic: 'state', partitions: 1, cleanupPolicy: 'compact' }]);
    const producer = await transport.producer();
    for (let version = 0; version < 20; version++) {
      await producer.send('state', [{ key: 'rule|entity', value: `state-${version}`.padEnd(40, '.') }]);
    }
    assert.deepEqual(await readAll(transport, 'state'), ['state-19'.padEnd(40, '.')]);
    await transport.close();
  });

  void it('is what createTransport builds for the embedded kind, and a bad config names its key', async () => {
    const transport = await createTransport({ kind: 'embedded', embedded: { maxBatchRecords: 3 } });
    assert.ok(transport instanceof EmbeddedTransport);
    assert.equal(transport.options.maxBatchRecords, 3);
    await transport.close();
    await assert.rejects(
      createTransport({ kind: 'embedded', embedded: { maxBatchRecords: -1 } }),
      (error: unknown) =>
        isMcpwatchError(error, 'CONFIG_INVALID') && error.message.includes('transport.embedded.maxBatchRecords'),
    );
    await assert.rejects(
      createTransport({ kind: 'kafka', kafka: { brokers: [] } }),
      (error: unknown) => isMcpwatchError(error, 'CONFIG_INVALID') && error.message.includes('transport.kafka.brokers'),
    );
  });

  void it('names the bad option', () => {
    assert.throws(
      () => new EmbeddedTransport({ maxBytesPerTopic: 0 }),
      (error: unknown) =>
        isMcpwatchError(error, 'CONFIG_INVALID') && error.message.includes('embedded.maxBytesPerTopic'),
    );
    assert.throws(
      () => new EmbeddedTransport({ maxBatchSize: 10 } as never),
      (error: unknown) => isMcpwatchError(error, 'CONFIG_INVALID') && error.message.includes('maxBatchSize'),
    );
  });
});
