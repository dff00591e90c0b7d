/**
 * The one behaviour every Transport must have, run against each implementation (real Kafka broker and the
 * embedded log). What the pipeline relies on is stated here as a test, not as a property of one client.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { isMcpwatchError } from '../../contracts/errors.ts';
import { uniqueTopic } from './kafka.ts';
import { deadLetter } from '../../transport/dead-letter.ts';
import { partitionForKey } from '../../transport/murmur2.ts';
import { partitionId } from '../../transport/partitions.ts';
import { HEADERS } from '../../transport/topics.ts';
import type { Consumer, ConsumerHandlers, IncomingRecord, TopicPartition, Transport } from '../../transport/types.ts';
import { waitFor } from './wait-for.ts';

/** A key that the Kafka default partitioner (and the embedded log) puts on `partition`. */
function keyOn(partition: number, partitions: number, prefix = 'key'): string {
  for (let index = 0; index < 10_000; index++) {
    const key = `${prefix}-${index}`;
    if (partitionForKey(key, partitions) === partition) return key;
  }
  throw new Error(`no key found for partition ${partition}`);
}

/** What a consumer saw: records, the partitions it currently owns and every rebalance callback. */
class Observed {
  readonly records: IncomingRecord[] = [];
  readonly owned = new Set<string>();
  readonly assigned: TopicPartition[][] = [];
  readonly revoked: TopicPartition[][] = [];

  handlers(onBatch?: ConsumerHandlers['onBatch']): ConsumerHandlers {
    return {
      onBatch: async (batch) => {
        assert.ok(this.owned.has(partitionId(batch)), `batch for ${partitionId(batch)} which is not assigned`);
        if (onBatch === undefined) this.records.push(...batch.records);
        else await onBatch(batch);
      },
      onAssigned: (partitions) => {
        this.assigned.push(partitions);
        for (const partition of partitions) this.owned.add(partitionId(partition));
        return Promise.resolve();
      },
      onRevoked: (partitions) => {
        this.revoked.push(partitions);
        for (const partition of partitions) this.owned.delete(partitionId(partition));
        return Promise.resolve();
      },
    };
  }

  values(): string[] {
    return this.records.map((record) => record.value.toString());
  }
}

/** A consumer running in the background; `stop` closes it and surfaces any failure of `run`. */
class Running {
  readonly #done: Promise<void>;

  constructor(
    readonly consumer: Consumer,
    handlers: ConsumerHandlers,
  ) {
    this.#done = consumer.run(handlers);
    // Observed by `stop`; meanwhile a rejection must not be reported as unhandled.
    this.#done.catch(() => undefined);
  }

  async stop(): Promise<void> {
    await this.consumer.close();
    await this.#done;
  }
}

/** Every contract test is bounded: a transport that hangs fails the test instead of the run. */
function test(name: string, body: () => Promise<void>): void {
  void it(name, { timeout: 60_000 }, body);
}

export function describeTransportContract(name: string, makeTransport: () => Transport | Promise<Transport>): void {
  void describe(`${name} transport contract`, () => {
    let transport: Transport;
    const running: Running[] = [];

    /** Starts a consumer; `handlers` may be built from the consumer, for handlers that commit. */
    async function consume(
      topics: string[],
      groupId: string,
      handlers: ConsumerHandlers | ((consumer: Consumer) => ConsumerHandlers),
    ): Promise<Running> {
      const consumer = await transport.consumer({ groupId, topics });
      const run = new Running(consumer, typeof handlers === 'function' ? handlers(consumer) : handlers);
      running.push(run);
      return run;
    }

    beforeEach(async () => {
      transport = await makeTransport();
    });

    afterEach(async () => {
      const all = running.splice(0);
      await Promise.all(all.map((consumer) => consumer.stop()));
      await transport.close();
    });

    test('keeps per-key order across many keys and partitions, on the partition the key hashes to', async () => {
      const topic = uniqueTopic('contract-order');
      const partitions = 4;
      await transport.ensureTopics([{ topic, partitions }]);
      const producer = await transport.producer();
      const keys = Array.from({ length: 40 }, (_, index) => `session-${index}`);
      const perKey = 15;
      for (let round = 0; round < perKey; round++) {
        await producer.send(
          topic,
          keys.map((key) => ({ key, value: `${key}#${round}` })),
        );
      }
      const observed = new Observed();
      await consume([topic], uniqueTopic('group'), observed.handlers());
      await waitFor('every record', () => observed.records.length >= keys.length * perKey);

      assert.equal(observed.records.length, keys.length * perKey);
      for (const key of keys) {
        const mine = observed.records.filter((record) => record.key === key);
        assert.deepEqual(
          mine.map((record) => record.value.toString()),
          Array.from({ length: perKey }, (_, round) => `${key}#${round}`),
        );
        assert.deepEqual(new Set(mine.map((record) => record.partition)), new Set([partitionForKey(key, partitions)]));
      }
      for (let partition = 0; partition < partitions; partition++) {
        const offsets = observed.records
          .filter((record) => record.partition === partition)
          .map((r) => BigInt(r.offset));
        assert.ok(offsets.length > 0, `partition ${partition} received records`);
        assert.ok(
          offsets.every((offset, index) => index === 0 || offset > offsets[index - 1]!),
          'offsets increase',
        );
      }
      await producer.close();
    });

    test('one send larger than a broker request (3 MiB to one partition) arrives whole and in order', async () => {
      const topic = uniqueTopic('contract-large-send');
      await transport.ensureTopics([{ topic, partitions: 1 }]);
      const producer = await transport.producer();
      // Thirty tool catalogs of 100 KiB, as a catalog-heavy batch re-keys them: over Kafka's 1 MiB default.
      const records = Array.from({ length: 30 }, (_, index) => ({
        key: 'server-a',
        value: `${index}:`.padEnd(100 * 1024, 'x'),
      }));
      await producer.send(topic, records);
      const observed = new Observed();
      await consume([topic], uniqueTopic('group'), observed.handlers());
      await waitFor('every record', () => observed.records.length >= records.length);
      assert.deepEqual(
        observed.records.map((record) => record.value.toString().split(':')[0]),
        records.map((_, index) => String(index)),
      );
      await producer.close();
    });

    test('an atomic send larger than a broker request, over two partitions, is read back whole', async () => {
      const topic = uniqueTopic('contract-atomic-send');
      await transport.ensureTopics([{ topic, partitions: 2, cleanupPolicy: 'compact' }]);
      const producer = await transport.producer({ transactionalId: uniqueTopic('contract-atomic') });
      // A busy batch's checkpoint: thousands of state records, then the positions, over 1 MiB in all.
      const records = Array.from({ length: 3000 }, (_, index) => ({
        key: `state/${index}`,
        value: `${index}:`.padEnd(500, 's'),
        partition: index % 2,
      }));
      await producer.send(topic, records);
      await producer.send(topic, [{ key: 'position', value: 'after', partition: 1 }]);
      const read = async (partition: number) => {
        const values: string[] = [];
        for await (const record of transport.readPartition(topic, partition)) values.push(record.value.toString());
        return values.map((value) => value.split(':')[0]);
      };
      assert.deepEqual(
        await read(0),
        records.flatMap((_, index) => (index % 2 === 0 ? [String(index)] : [])),
      );
      assert.deepEqual(await read(1), [
        ...records.flatMap((_, index) => (index % 2 === 1 ? [String(index)] : [])),
        'after',
      ]);
      await producer.close();
    });

    test('a producer opened with a transactional id fences the one that held it: its sends fail', async () => {
      const topic = uniqueTopic('contract-fencing');
      await transport.ensureTopics([{ topic, partitions: 1 }]);
      const transactionalId = uniqueTopic('contract-fenced');
      const former = await transport.producer({ transactionalId });
      await former.send(topic, [{ key: 'k', value: 'former' }]);
      const successor = await transport.producer({ transactionalId });
      for (const attempt of ['first', 'again']) {
        await assert.rejects(
          former.send(topic, [{ key: 'k', value: `zombie ${attempt}` }]),
          (error: unknown) => isMcpwatchError(error, 'TRANSPORT_FAILED') && /fenced/.test(error.message),
        );
      }
      await successor.send(topic, [{ key: 'k', value: 'successor' }]);
      const values: string[] = [];
      for await (const record of transport.readPartition(topic, 0)) values.push(record.value.toString());
      assert.deepEqual(values, ['former', 'successor']);
      await Promise.all([former.close(), successor.close()]);
    });

    test('round-trips keys, binary values and headers', async () => {
      const topic = uniqueTopic('contract-bytes');
      await transport.ensureTopics([{ topic, partitions: 1 }]);
      const producer = await transport.producer();
      const binary = Buffer.from(Array.from({ length: 256 }, (_, byte) => byte));
      const before = Date.now();
      await producer.send(topic, [
        { key: 'clé-ü-🔑', value: binary, headers: { [HEADERS.schemaVersion]: '1', 'x-ünïcode': 'välue ✓' } },
        { key: null, value: 'text value' },
        { key: '', value: Buffer.alloc(0), headers: { empty: '' } },
      ]);
      const observed = new Observed();
      await consume([topic], uniqueTopic('group'), observed.handlers());
      await waitFor('three records', () => observed.records.length >= 3);

      const [first, second, third] = observed.records;
      assert.equal(first?.key, 'clé-ü-🔑');
      assert.ok(first.value.equals(binary), 'binary value intact');
      assert.deepEqual(first.headers, { [HEADERS.schemaVersion]: '1', 'x-ünïcode': 'välue ✓' });
      assert.equal(first.topic, topic);
      assert.equal(first.partition, 0);
      assert.equal(first.offset, '0');
      assert.ok(first.timestamp >= before - 5000 && first.timestamp <= Date.now() + 5000, 'timestamp is wall time');
      assert.equal(second?.key, null);
      assert.equal(second.value.toString(), 'text value');
      assert.deepEqual(second.headers, {});
      assert.equal(third?.key, '');
      assert.equal(third.value.length, 0);
      assert.deepEqual(third.headers, { empty: '' });
      await producer.close();
    });

    test('redelivers uncommitted records to the next consumer of the group, and only those', async () => {
      const topic = uniqueTopic('contract-redeliver');
      const groupId = uniqueTopic('group');
      await transport.ensureTopics([{ topic, partitions: 1 }]);
      const producer = await transport.producer();
      await producer.send(
        topic,
        Array.from({ length: 10 }, (_, index) => ({ key: 'k', value: `r${index}` })),
      );

      // First consumer: processes all ten, commits only past the first four, then goes away.
      const first = new Observed();
      const firstRun = await consume([topic], groupId, (consumer) =>
        first.handlers(async (batch) => {
          for (const record of batch.records) {
            first.records.push(record);
            if (record.offset === '3') await consumer.commit([{ topic, partition: 0, offset: '4' }]);
          }
        }),
      );
      await waitFor('first consumer to see ten records', () => first.records.length >= 10);
      await firstRun.stop();
      assert.deepEqual(
        first.values(),
        Array.from({ length: 10 }, (_, index) => `r${index}`),
      );

      // Second consumer: gets r4..r9 again, commits all of them.
      const second = new Observed();
      const secondRun = await consume([topic], groupId, (consumer) =>
        second.handlers(async (batch) => {
          second.records.push(...batch.records);
          const last = batch.records.at(-1)!;
          await consumer.commit([{ topic, partition: 0, offset: String(BigInt(last.offset) + 1n) }]);
        }),
      );
      await waitFor('redelivery of r4..r9', () => second.records.length >= 6);
      await secondRun.stop();
      assert.deepEqual(second.values(), ['r4', 'r5', 'r6', 'r7', 'r8', 'r9']);
      assert.equal(second.records[0]?.offset, '4');

      // Third consumer: committed records are not delivered again; only what is new.
      await producer.send(topic, [{ key: 'k', value: 'r10' }]);
      const third = new Observed();
      await consume([topic], groupId, third.handlers());
      await waitFor('the new record', () => third.records.length >= 1);
      assert.deepEqual(third.values(), ['r10']);
      assert.equal(third.records[0]?.offset, '10');
      await producer.close();
    });

    test('commits made in onRevoked hold: the next member of the group starts after them', async () => {
      const topic = uniqueTopic('contract-revoke-commit');
      const groupId = uniqueTopic('group');
      await transport.ensureTopics([{ topic, partitions: 1 }]);
      const producer = await transport.producer();
      await producer.send(
        topic,
        Array.from({ length: 5 }, (_, index) => ({ key: 'k', value: `r${index}` })),
      );

      // Processes without committing, then flushes and commits on revoke: what the detector runtime does.
      const processed = new Map<string, bigint>();
      const revokedWith: string[] = [];
      let seen = 0;
      const first = await consume([topic], groupId, (consumer) => ({
        onBatch: (batch) => {
          seen += batch.records.length;
          processed.set(partitionId(batch), BigInt(batch.records.at(-1)!.offset) + 1n);
          return Promise.resolve();
        },
        onRevoked: async (partitions) => {
          const offsets = partitions.flatMap((partition) => {
            const next = processed.get(partitionId(partition));
            return next === undefined ? [] : [{ ...partition, offset: String(next) }];
          });
          revokedWith.push(...offsets.map((offset) => `${partitionId(offset)}@${offset.offset}`));
          await consumer.commit(offsets);
        },
      }));
      await waitFor('five records', () => seen >= 5);
      await first.stop();
      assert.deepEqual(revokedWith, [`${topic}/0@5`]);

      await producer.send(topic, [{ key: 'k', value: 'r5' }]);
      const next = new Observed();
      await consume([topic], groupId, next.handlers());
      await waitFor('the record produced after the handover', () => next.records.length >= 1);
      assert.deepEqual(next.values(), ['r5']);
      await producer.close();
    });

    test('stops when a handler fails: run rejects with its error and the records are delivered again', async () => {
      const topic = uniqueTopic('contract-failure');
      const groupId = uniqueTopic('group');
      await transport.ensureTopics([{ topic, partitions: 1 }]);
      const producer = await transport.producer();
      await producer.send(topic, [
        { key: 'k', value: 'a' },
        { key: 'k', value: 'b' },
        { key: 'k', value: 'c' },
      ]);
      const failure = new Error('handler failed on purpose');
      const consumer = await transport.consumer({ groupId, topics: [topic] });
      let batches = 0;
      const outcome = await consumer
        .run({
          onBatch: () => {
            batches++;
            return Promise.reject(failure);
          },
        })
        .then(
          () => 'resolved',
          (error: unknown) => error,
        );
      assert.equal(outcome, failure, 'run rejects with the handler error');
      assert.equal(batches, 1, 'no batch after the failing one');
      await consumer.close();

      const next = new Observed();
      await consume([topic], groupId, next.handlers());
      await waitFor('redelivery after the failure', () => next.records.length >= 3);
      assert.deepEqual(next.values(), ['a', 'b', 'c']);
      await producer.close();
    });

    test('pause stops delivery of one partition while others flow; resume continues where it stopped', async () => {
      const topic = uniqueTopic('contract-pause');
      await transport.ensureTopics([{ topic, partitions: 2 }]);
      const held = { topic, partition: 0 };
      const [heldKey, flowingKey] = [keyOn(0, 2), keyOn(1, 2)];
      const producer = await transport.producer();
      const batchOf = (key: string, from: number) =>
        Array.from({ length: 3 }, (_, index) => ({ key, value: `${key}#${from + index}` }));
      await producer.send(topic, [...batchOf(heldKey, 0), ...batchOf(flowingKey, 0)]);

      const observed = new Observed();
      const consumer = await transport.consumer({ groupId: uniqueTopic('group'), topics: [topic] });
      consumer.pause([held]);
      running.push(new Running(consumer, observed.handlers()));
      const of = (partition: number) => observed.records.filter((record) => record.partition === partition);
      await waitFor('the flowing partition', () => of(1).length >= 3);
      await producer.send(topic, [...batchOf(heldKey, 3), ...batchOf(flowingKey, 3)]);
      await waitFor('more of the flowing partition', () => of(1).length >= 6);
      assert.equal(of(0).length, 0, 'nothing delivered from the paused partition');

      consumer.resume([held]);
      await waitFor('the resumed partition', () => of(0).length >= 6);
      assert.deepEqual(
        of(0).map((record) => record.offset),
        ['0', '1', '2', '3', '4', '5'],
      );
      await producer.close();
    });

    test('dead-letters a record that cannot be parsed, with the reason, and commits past it', async () => {
      const topic = uniqueTopic('contract-dlq-source');
      const dlq = uniqueTopic('contract-dlq');
      const groupId = uniqueTopic('group');
      await transport.ensureTopics([
        { topic, partitions: 1 },
        { topic: dlq, partitions: 1 },
      ]);
      const producer = await transport.producer();
      await producer.send(topic, [
        { key: 's1', value: '{"ok":1}' },
        { key: 's1', value: '{not json', headers: { origin: 'test' } },
        { key: 's1', value: '{"ok":3}' },
      ]);

      const parsed: unknown[] = [];
      const consumeParsing = (): Promise<Running> =>
        consume([topic], groupId, (consumer) => ({
          onBatch: async (batch) => {
            for (const record of batch.records) {
              try {
                parsed.push(JSON.parse(record.value.toString()));
              } catch (error) {
                await deadLetter(producer, dlq, record, 'detectors', `(root): ${(error as Error).message}`);
              }
            }
            const last = batch.records.at(-1)!;
            await consumer.commit([{ topic, partition: 0, offset: String(BigInt(last.offset) + 1n) }]);
          },
        }));
      const firstRun = await consumeParsing();
      await waitFor('both good records', () => parsed.length >= 2);
      assert.deepEqual(parsed, [{ ok: 1 }, { ok: 3 }]);

      const deadLetters: IncomingRecord[] = [];
      for await (const record of transport.readPartition(dlq, 0)) deadLetters.push(record);
      assert.equal(deadLetters.length, 1);
      const [letter] = deadLetters;
      assert.equal(letter?.key, 's1');
      assert.equal(letter.value.toString(), '{not json');
      assert.equal(letter.headers.origin, 'test');
      assert.match(letter.headers[HEADERS.deadLetterReason] ?? '', /^\(root\): .*JSON/);
      assert.equal(letter.headers[HEADERS.deadLetterStage], 'detectors');
      assert.equal(letter.headers[HEADERS.deadLetterSource], `${topic}/0/1`);

      // Committed past the dead letter: a restarted consumer sees only what is new.
      await firstRun.stop();
      await producer.send(topic, [{ key: 's1', value: '{"ok":4}' }]);
      const secondRun = await consumeParsing();
      await waitFor('the new record', () => parsed.length >= 3);
      assert.deepEqual(parsed, [{ ok: 1 }, { ok: 3 }, { ok: 4 }]);
      await secondRun.stop();
      await producer.close();
    });

    test('refuses a send to a partition the topic does not have, and appends none of it', async () => {
      const topic = uniqueTopic('contract-no-partition');
      await transport.ensureTopics([{ topic, partitions: 2 }]);
      const producer = await transport.producer();
      await assert.rejects(
        producer.send(topic, [
          { key: 'a', value: 'on 0', partition: 0 },
          { key: 'b', value: 'on 2', partition: 2 },
        ]),
        (error: unknown) => isMcpwatchError(error) && /has no partition 2 \(it has 2\)/.test(error.message),
      );
      // Sent after it on each partition: whatever of the refused send was appended is read before these.
      await producer.send(topic, [
        { key: 'c', value: 'after on 0', partition: 0 },
        { key: 'd', value: 'after on 1', partition: 1 },
      ]);
      const observed = new Observed();
      await consume([topic], uniqueTopic('group'), observed.handlers());
      await waitFor('the records after', () => observed.records.length >= 2);
      assert.deepEqual(observed.records.map((record) => record.value.toString()).sort(), ['after on 0', 'after on 1']);
      await producer.close();
    });

    test('readPartition returns what was produced to that partition; compacted topics keep the latest per key', async () => {
      const topic = uniqueTopic('contract-read');
      const state = uniqueTopic('contract-state');
      await transport.ensureTopics([
        { topic, partitions: 3 },
        { topic: state, partitions: 1, cleanupPolicy: 'compact' },
      ]);
      assert.equal(await transport.partitionCount(topic), 3);
      const producer = await transport.producer();
      const [onZero, onOne] = [keyOn(0, 3, 'a'), keyOn(1, 3, 'b')];
      await producer.send(topic, [
        { key: onZero, value: 'z1', headers: { n: '1' } },
        { key: onOne, value: 'o1' },
        { key: onZero, value: 'z2' },
      ]);
      const read = async (name: string, partition: number): Promise<IncomingRecord[]> => {
        const out: IncomingRecord[] = [];
        for await (const record of transport.readPartition(name, partition)) out.push(record);
        return out;
      };
      const zero = await read(topic, 0);
      assert.deepEqual(
        zero.map((record) => [record.key, record.value.toString(), record.offset, record.partition]),
        [
          [onZero, 'z1', '0', 0],
          [onZero, 'z2', '1', 0],
        ],
      );
      assert.deepEqual(zero[0]?.headers, { n: '1' });
      assert.deepEqual(
        (await read(topic, 1)).map((record) => record.value.toString()),
        ['o1'],
      );
      assert.deepEqual(await read(topic, 2), []);

      // An explicit partition overrides the key's (state checkpoints go to the partition they belong to).
      await producer.send(topic, [{ key: onZero, value: 'pinned', partition: 2 }]);
      assert.deepEqual(
        (await read(topic, 2)).map((record) => [record.key, record.value.toString(), record.partition]),
        [[onZero, 'pinned', 2]],
      );

      await producer.send(state, [
        { key: 'rule-a|alice', value: 'v1' },
        { key: 'rule-b|bob', value: 'w1' },
        { key: 'rule-a|alice', value: 'v2' },
      ]);
      const latest = new Map<string | null, string>();
      for (const record of await read(state, 0)) latest.set(record.key, record.value.toString());
      assert.deepEqual(
        latest,
        new Map([
          ['rule-a|alice', 'v2'],
          ['rule-b|bob', 'w1'],
        ]),
      );
      await producer.close();
    });

    test('shares partitions between two members of a group and hands them over when one leaves', async () => {
      const topic = uniqueTopic('contract-group');
      const groupId = uniqueTopic('group');
      const partitions = 4;
      await transport.ensureTopics([{ topic, partitions }]);
      const keys = Array.from({ length: partitions }, (_, partition) => keyOn(partition, partitions, 'entity'));
      const producer = await transport.producer();

      const a = new Observed();
      const b = new Observed();
      await consume([topic], groupId, a.handlers());
      await waitFor('the first member to own every partition', () => a.owned.size === partitions);
      const bRun = await consume([topic], groupId, b.handlers());
      await waitFor(
        'a stable split between the two members',
        () => a.owned.size > 0 && b.owned.size > 0 && a.owned.size + b.owned.size === partitions,
      );
      assert.ok(a.revoked.length > 0, 'the first member had partitions revoked');
      assert.deepEqual(new Set([...a.owned, ...b.owned]).size, partitions, 'disjoint and complete');

      await producer.send(
        topic,
        keys.map((key) => ({ key, value: `before-${key}` })),
      );
      await waitFor('records on both members', () => a.records.length + b.records.length >= partitions);
      for (const [member, observed] of [
        ['a', a],
        ['b', b],
      ] as const) {
        assert.ok(observed.records.length > 0, `member ${member} received records`);
        for (const record of observed.records) assert.ok(observed.owned.has(partitionId(record)));
      }
      const bOwned = [...b.owned].sort();

      await bRun.stop();
      running.splice(running.indexOf(bRun), 1);
      assert.deepEqual(
        b.revoked
          .flat()
          .map(partitionId)
          .filter((id) => bOwned.includes(id))
          .sort(),
        bOwned,
        'the leaving member was told its partitions were revoked',
      );
      await waitFor('the remaining member to own every partition', () => a.owned.size === partitions);
      const seenBefore = a.records.length;
      await producer.send(
        topic,
        keys.map((key) => ({ key, value: `after-${key}` })),
      );
      await waitFor('records of every partition on the remaining member', () =>
        keys.every((key) => a.values().includes(`after-${key}`)),
      );
      assert.ok(a.records.length > seenBefore);
      await producer.close();
    });
    test('co-partitions: partition p of every topic the group reads goes to one member', async () => {
      const [left, right, single] = ['contract-co-a', 'contract-co-b', 'contract-co-one'].map((name) =>
        uniqueTopic(name),
      );
      const groupId = uniqueTopic('group');
      await transport.ensureTopics([
        { topic: left!, partitions: 4 },
        { topic: right!, partitions: 4 },
        { topic: single!, partitions: 1 },
      ]);
      const a = new Observed();
      const b = new Observed();
      const topics = [left!, right!, single!];
      await consume(topics, groupId, a.handlers());
      await waitFor('the first member to own every partition', () => a.owned.size === 9);
      await consume(topics, groupId, b.handlers());
      await waitFor('a stable split', () => a.owned.size > 0 && b.owned.size > 0 && a.owned.size + b.owned.size === 9);
      for (const observed of [a, b]) {
        const numbers = (topic: string): number[] =>
          [...observed.owned]
            .filter((id) => id.startsWith(`${topic}/`))
            .map((id) => Number(id.slice(topic.length + 1)))
            .sort();
        assert.deepEqual(numbers(left!), numbers(right!), 'the same partition numbers of both topics');
        assert.equal(numbers(single!).length === 1, numbers(left!).includes(0), 'the one partition with partition 0');
      }
    });
  });
}
