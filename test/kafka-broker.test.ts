/**
 * The broker recipe itself: the run's broker (KAFKA_BROKERS) carries records through an idempotent producer
 * and a consumer group, and a second broker of our own keeps a record across restart() on the same port.
 */
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { isMcpwatchError } from '../contracts/errors.ts';
import { startKafkaBroker } from '../deploy/kafka/broker.ts';
import { kafkaBrokers, uniqueTopic } from './support/kafka.ts';

function client(brokers: string[], level = logLevel.ERROR): Kafka {
  return new Kafka({ clientId: 'kafka-broker-test', brokers, logLevel: level });
}

async function produce(kafka: Kafka, topic: string, messages: { key: string; value: string }[]): Promise<void> {
  const producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

/** Reads `count` records from the start of `topic` with a fresh consumer group. */
async function consume(kafka: Kafka, topic: string, count: number): Promise<{ key: string; value: string }[]> {
  const consumer = kafka.consumer({ groupId: `${topic}.reader` });
  const received: { key: string; value: string }[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: ({ message }) => {
            received.push({ key: message.key?.toString() ?? '', value: message.value?.toString() ?? '' });
            if (received.length >= count) resolve();
            return Promise.resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return received;
}

async function createTopic(kafka: Kafka, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true }), true);
  } finally {
    await admin.disconnect();
  }
}

async function portIsFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

void test(
  'the run broker carries a record from an idempotent producer to a consumer group',
  { timeout: 60_000 },
  async () => {
    const kafka = client(kafkaBrokers());
    const topic = uniqueTopic('kafka-broker');
    await createTopic(kafka, topic);
    await produce(kafka, topic, [{ key: 'session-1', value: 'tools/call' }]);
    assert.deepEqual(await consume(kafka, topic, 1), [{ key: 'session-1', value: 'tools/call' }]);
  },
);

void test('the run broker refuses to create topics on first use', { timeout: 60_000 }, async () => {
  // The refusal is the expected outcome here; kafkajs would log it as an error.
  const kafka = client(kafkaBrokers(), logLevel.NOTHING);
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 1 } });
  await producer.connect();
  try {
    await assert.rejects(
      producer.send({ topic: uniqueTopic('never-created'), messages: [{ value: 'x' }] }),
      /does not host this topic-partition|UNKNOWN_TOPIC_OR_PARTITION|This server does not host/i,
    );
  } finally {
    await producer.disconnect();
  }
});

void test(
  'a second broker keeps a record across restart() on the same port, then stops for good',
  { timeout: 240_000 },
  async () => {
    const broker = await startKafkaBroker();
    try {
      const [address] = broker.brokers;
      assert.ok(address !== undefined && address.startsWith('127.0.0.1:'));
      assert.notDeepEqual(broker.brokers, kafkaBrokers(), 'a new broker, not the run broker');
      const kafka = client(broker.brokers);
      const topic = uniqueTopic('restart');
      await createTopic(kafka, topic);
      await produce(kafka, topic, [{ key: 'before', value: 'written before the restart' }]);

      await broker.restart();
      assert.deepEqual(broker.brokers, [address], 'restart keeps the port');
      await produce(kafka, topic, [{ key: 'after', value: 'written after the restart' }]);
      assert.deepEqual(await consume(kafka, topic, 2), [
        { key: 'before', value: 'written before the restart' },
        { key: 'after', value: 'written after the restart' },
      ]);
    } finally {
      await broker.stop();
    }
    await broker.stop(); // idempotent
    const port = Number(broker.brokers[0]?.split(':')[1]);
    assert.equal(await portIsFree(port), true, 'the JVM is gone and its port released');
    assert.equal(existsSync(broker.dataDir), false, 'the temporary data directory is removed');
    await assert.rejects(broker.restart(), (error: unknown) => isMcpwatchError(error, 'CLOSED'));
  },
);

void test('a broker that cannot start says why: exit code and the tail of its log', { timeout: 120_000 }, async () => {
  // Holds the port and hangs up on whoever connects (the readiness probe does).
  const occupant = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => occupant.listen(0, '127.0.0.1', resolve));
  const address = occupant.address();
  assert.ok(address !== null && typeof address === 'object');
  try {
    await assert.rejects(startKafkaBroker({ port: address.port }), (error: unknown) => {
      assert.ok(isMcpwatchError(error, 'NOT_READY'), String(error));
      assert.match(error.message, /JVM exited with code [1-9]/);
      assert.match(error.message, new RegExp(`${address.port}[\\s\\S]*(Address already in use|BindException)`));
      // A failed start keeps its data directory for the post-mortem the message points to; this test has read it.
      const dataDir = /Data dir (\S+);/.exec(error.message)?.[1];
      assert.ok(dataDir !== undefined && existsSync(dataDir), 'the message names the kept data directory');
      rmSync(dataDir, { recursive: true, force: true });
      return true;
    });
  } finally {
    await new Promise((resolve) => occupant.close(resolve));
  }
});

void test('bad options are refused before anything starts', async () => {
  await assert.rejects(startKafkaBroker({ port: 70_000 }), (error: unknown) => {
    assert.ok(isMcpwatchError(error, 'CONFIG_INVALID'));
    assert.match(error.message, /^startKafkaBroker: port: /);
    return true;
  });
});
