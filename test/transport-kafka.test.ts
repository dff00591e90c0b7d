/** The transport contract on the real Kafka broker of the test run. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import kafkajs, { Kafka, logLevel, type Admin } from 'kafkajs';
import { isMcpwatchError } from '../contracts/errors.ts';
import { createTransport } from '../transport/index.ts';
import { startKafkaBroker } from '../deploy/kafka/broker.ts';
import { KafkaTransport } from '../transport/kafka.ts';
import { describeTransportContract } from './support/transport-contract.ts';
import { kafkaBrokers, uniqueTopic } from './support/kafka.ts';

// Quick rebalances: members notice a join or leave within a few heartbeats (6 s is the broker's minimum).
const quickGroups = {
  sessionTimeoutMs: 6000,
  heartbeatIntervalMs: 200,
  rebalanceTimeoutMs: 10_000,
  maxWaitTimeMs: 100,
};

describeTransportContract('kafka', () =>
  createTransport({
    kind: 'kafka',
    kafka: { brokers: kafkaBrokers(), clientId: 'mcpwatch-transport-test', consumer: quickGroups },
  }),
);

void describe('kafka rebalance', () => {
  void it(
    'a member busy with a batch when another joins revokes before rejoining, so its commits hold',
    {
      timeout: 60_000,
    },
    async () => {
      const transport = new KafkaTransport({
        brokers: kafkaBrokers(),
        clientId: 'mcpwatch-rebalance-test',
        consumer: quickGroups,
      });
      const admin = new Kafka({ brokers: kafkaBrokers(), logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      const topic = uniqueTopic('rebalance-busy');
      const groupId = uniqueTopic('group');
      const stoppers: (() => Promise<void>)[] = [];
      try {
        await transport.ensureTopics([{ topic, partitions: 1 }]);
        const producer = await transport.producer();
        stoppers.push(() => producer.close());
        await producer.send(
          topic,
          Array.from({ length: 5 }, (_, index) => ({ key: 'k', value: `r${index}` })),
        );

        let holding = false;
        let secondStarted = false;
        let processed = 0n;
        const revokeCommits: string[] = [];
        const statesDuringRevoke: (string | undefined)[] = [];
        /** Offsets processed by either member after the first batch: r0..r4 must not come again. */
        const processedLater: string[] = [];
        const first = await transport.consumer({ groupId, topics: [topic] });
        const firstDone = first.run({
          onBatch: async (batch) => {
            const offsets = batch.records.map((record) => record.offset);
            if (holding) processedLater.push(...offsets);
            else {
              holding = true;
              // Hold the first batch until the second member's join has put the group into a rebalance.
              for (
                let poll = 0;
                poll < 500 && !(secondStarted && (await groupState(admin, groupId)) === 'PreparingRebalance');
                poll++
              ) {
                await delay(20);
              }
            }
            processed = BigInt(offsets.at(-1)!) + 1n;
          },
          onRevoked: async (partitions) => {
            if (processed === 0n) return;
            if (revokeCommits.length === 0) {
              // A slow flush: the group must wait for it, since this member has not rejoined yet.
              await delay(500);
              statesDuringRevoke.push(await groupState(admin, groupId));
            }
            const offsets = partitions.map((partition) => ({ ...partition, offset: String(processed) }));
            await first.commit(offsets);
            revokeCommits.push(...offsets.map((offset) => offset.offset));
          },
        });
        stoppers.push(async () => {
          await first.close();
          await firstDone;
        });

        for (let poll = 0; poll < 1500 && !holding; poll++) await delay(20);
        const second = await transport.consumer({ groupId, topics: [topic] });
        const secondDone = second.run({
          onBatch: (batch) => {
            processedLater.push(...batch.records.map((record) => record.offset));
            return Promise.resolve();
          },
        });
        secondStarted = true;
        stoppers.push(async () => {
          await second.close();
          await secondDone;
        });

        for (let poll = 0; poll < 1500 && revokeCommits.length === 0; poll++) await delay(20);
        assert.deepEqual(revokeCommits, ['5'], 'onRevoked committed during the rebalance');
        assert.deepEqual(statesDuringRevoke, ['PreparingRebalance'], 'the rebalance waited for onRevoked');
        const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
        assert.equal(committed[0]?.partitions[0]?.offset, '5');
        // Whoever owns the partition now starts after the commit: r0..r4 are not processed twice.
        await producer.send(topic, [{ key: 'k', value: 'r5' }]);
        for (let poll = 0; poll < 1500 && processedLater.length === 0; poll++) await delay(20);
        assert.deepEqual(processedLater, ['5']);
      } finally {
        for (const stop of stoppers.reverse()) await stop();
        await admin.disconnect();
        await transport.close();
      }
    },
  );
});

void describe('kafka topics', () => {
  void it('ensureTopics creates missing topics with their partitions and cleanup policy, and is idempotent', async () => {
    const transport = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'mcpwatch-topics-test' });
    const admin = new Kafka({ brokers: kafkaBrokers(), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const [events, state] = [uniqueTopic('topics-events'), uniqueTopic('topics-state')];
      const specs = [
        { topic: events, partitions: 3 },
        { topic: state, partitions: 2, cleanupPolicy: 'compact' as const },
      ];
      await transport.ensureTopics(specs);
      await transport.ensureTopics(specs);
      assert.equal(await transport.partitionCount(events), 3);
      assert.equal(await transport.partitionCount(state), 2);
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [events, state].map((name) => ({
          type: kafkajs.ConfigResourceTypes.TOPIC,
          name,
          configNames: ['cleanup.policy'],
        })),
      });
      const policy = (name: string) =>
        resources.find((resource) => resource.resourceName === name)?.configEntries[0]?.configValue;
      assert.equal(policy(events), 'delete');
      assert.equal(policy(state), 'compact');
      await assert.rejects(transport.partitionCount(uniqueTopic('missing')), (error: unknown) =>
        isMcpwatchError(error, 'TRANSPORT_FAILED'),
      );
    } finally {
      await admin.disconnect();
      await transport.close();
    }
  });
});

async function groupState(admin: Admin, groupId: string): Promise<string | undefined> {
  const { groups } = await admin.describeGroups([groupId]);
  return groups[0]?.state;
}

void describe('kafka transport options', () => {
  void it('are validated once, and the error names the bad option', () => {
    assert.throws(
      () => new KafkaTransport({ brokers: ['127.0.0.1:9'], consumer: { sessionTimeoutMs: -1 } }),
      (error: unknown) =>
        isMcpwatchError(error, 'CONFIG_INVALID') && error.message.includes('kafka.consumer.sessionTimeoutMs'),
    );
    assert.throws(
      () => new KafkaTransport({ brokers: ['no-port'] }),
      (error: unknown) => isMcpwatchError(error, 'CONFIG_INVALID') && error.message.includes('kafka.brokers[0]'),
    );
    assert.throws(
      () => new KafkaTransport({ brokers: ['127.0.0.1:9'], sasl: { mechanism: 'gssapi' } } as never),
      (error: unknown) => isMcpwatchError(error, 'CONFIG_INVALID') && error.message.includes('kafka.sasl'),
    );
    assert.throws(
      () => new KafkaTransport({ brokers: ['127.0.0.1:9'], linger: 5 } as never),
      (error: unknown) => isMcpwatchError(error, 'CONFIG_INVALID') && error.message.includes('linger'),
    );
  });

  void it('turn an unreachable broker into a TRANSPORT_FAILED error', async () => {
    const transport = new KafkaTransport({
      brokers: ['127.0.0.1:9'],
      connectionTimeoutMs: 200,
      retry: { retries: 1, initialRetryTimeMs: 50, maxRetryTimeMs: 100 },
    });
    await assert.rejects(transport.producer(), (error: unknown) => isMcpwatchError(error, 'TRANSPORT_FAILED'));
    await transport.close();
  });
});

void describe('kafka producer after a send in doubt', () => {
  void it('keeps producing, with nothing lost, when the broker wrote a batch whose send timed out', async () => {
    // A broker of its own: pausing the run's broker would stall every other test file.
    const broker = await startKafkaBroker();
    const transport = new KafkaTransport({
      brokers: broker.brokers,
      requestTimeoutMs: 1_000,
      producer: { ackTimeoutMs: 1_000 },
      retry: { retries: 1, initialRetryTimeMs: 50, maxRetryTimeMs: 200 },
    });
    try {
      const topic = uniqueTopic('send-in-doubt');
      await transport.ensureTopics([{ topic, partitions: 1 }]);
      const producer = await transport.producer();
      await producer.send(topic, [{ key: 'k', value: 'before' }]);
      // Paused, the broker takes the produce request and writes it only after resume, long after the
      // client gave up: the client's sequence numbers and the log now disagree.
      broker.pause();
      try {
        await assert.rejects(
          producer.send(topic, [
            { key: 'k', value: 'in-doubt-1' },
            { key: 'k', value: 'in-doubt-2' },
          ]),
          (error: unknown) => isMcpwatchError(error, 'TRANSPORT_FAILED'),
        );
      } finally {
        broker.resume();
      }
      for (let index = 0; index < 3; index++) await producer.send(topic, [{ key: 'k', value: `after-${index}` }]);
      await producer.close();

      const values: string[] = [];
      for await (const record of transport.readPartition(topic, 0)) values.push(String(record.value));
      assert.deepEqual(
        values.filter((value) => !value.startsWith('in-doubt')),
        ['before', 'after-0', 'after-1', 'after-2'],
      );
    } finally {
      await transport.close();
      await broker.stop();
    }
  });
});

void describe('kafka atomic producer', () => {
  void it('a send that fails after its first requests leaves nothing readable, where a plain one leaves them', async () => {
    const transport = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'mcpwatch-atomic-test' });
    try {
      const topic = uniqueTopic('atomic-midway');
      await transport.ensureTopics([{ topic, partitions: 2, cleanupPolicy: 'compact' }]);
      // Two requests' worth of state records (900 KiB each), then a record over the broker's message.max.bytes
      // (1 MiB): the broker refuses the third request after it appended the first two.
      const stateRecords = (partition: number) =>
        Array.from({ length: 4 }, (_, index) => ({
          key: `state/${index}`,
          value: `${index}:`.padEnd(400 * 1024, 's'),
          partition,
        }));
      const failingMidway = (partition: number) => [
        ...stateRecords(partition),
        { key: 'position', value: 'p'.repeat(1200 * 1024), partition },
      ];
      const keysIn = async (partition: number) => {
        const keys: (string | null)[] = [];
        for await (const record of transport.readPartition(topic, partition)) keys.push(record.key);
        return keys;
      };

      const plain = await transport.producer();
      await assert.rejects(plain.send(topic, failingMidway(0)), (error: unknown) =>
        isMcpwatchError(error, 'TRANSPORT_FAILED'),
      );
      assert.deepEqual(await keysIn(0), ['state/0', 'state/1', 'state/2', 'state/3'], 'the first requests stay');

      const atomic = await transport.producer({ transactionalId: uniqueTopic('atomic-midway') });
      await assert.rejects(atomic.send(topic, failingMidway(1)), (error: unknown) =>
        isMcpwatchError(error, 'TRANSPORT_FAILED'),
      );
      assert.deepEqual(await keysIn(1), [], 'an aborted transaction leaves nothing readable');

      // The failed transaction left the producer usable.
      await atomic.send(topic, stateRecords(1));
      assert.deepEqual(await keysIn(1), ['state/0', 'state/1', 'state/2', 'state/3']);
      await Promise.all([plain.close(), atomic.close()]);
    } finally {
      await transport.close();
    }
  });
});
