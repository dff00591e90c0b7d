/**
 * The Transport seam over kafkajs: topics (admin), and the producer, group consumer, assigners and record
 * mapping in `kafka/`, one job per file. Kept thin on purpose: kafkajs is in maintenance mode, so everything
 * mcpwatch relies on is pinned by `test/support/transport-contract.ts`, and another client is one more file passing it.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import {
  Kafka,
  Partitioners,
  logLevel,
  type Admin,
  type ConsumerConfig,
  type KafkaConfig,
  type Producer as KafkaProducerClient,
  type SASLOptions,
} from 'kafkajs';
import { pino, type Logger } from 'pino';
import { McpwatchError } from '../contracts/errors.ts';
import {
  parseKafkaTransportOptions,
  type KafkaSaslOptions,
  type KafkaTransportOptions,
  type KafkaTransportOptionsInput,
} from './kafka-options.ts';
import { coPartitionedAssigner, onePartitionAssigner } from './kafka/assigners.ts';
import { BatchChannel } from './kafka/batch-channel.ts';
import { KafkaConsumer } from './kafka/consumer.ts';
import { kafkaLogLine, transportError } from './kafka/errors.ts';
import { KafkaProducer } from './kafka/producer.ts';
import { incomingRecord } from './kafka/records.ts';
import { installRequestQueueScheduler } from './kafka/request-queue.ts';
import { retryPolicy } from './retry.ts';
import type {
  Consumer,
  ConsumerOptions,
  IncomingRecord,
  Producer,
  ProducerOptions,
  TopicSpec,
  Transport,
} from './types.ts';

const METADATA_RETRY = retryPolicy({ attempts: 8, baseDelayMs: 100, maxDelayMs: 2_000 });
/** Between looks at the last stable offset after a commit: its markers usually follow within milliseconds. */
const COMMIT_POLL_MS = 5;
/**
 * How long a transaction may stay open before the broker aborts it (kafkajs's default is 60 s). A producer that
 * died mid-transaction under an id nobody opens again holds back read-committed readers of its partitions that
 * long, plus the broker's sweep for timed-out transactions (`transaction.abort.timed.out.transaction.cleanup.
 * interval.ms`, 10 s by default).
 */
const TRANSACTION_TIMEOUT_MS = 10_000;
const ABORT_SWEEP_MS = 10_000;

export interface KafkaTransportDependencies {
  /** kafkajs's own log lines at warn and above go here; below warn they are not produced at all. */
  logger?: Logger;
}

function saslOf(sasl: KafkaSaslOptions): SASLOptions {
  return { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password };
}

export class KafkaTransport implements Transport {
  readonly kind = 'kafka';
  readonly options: KafkaTransportOptions;
  readonly #kafka: Kafka;
  readonly #logger: Logger;
  readonly #open = new Set<{ close(): Promise<void> }>();
  #admin: Promise<Admin> | undefined;
  #closed = false;

  constructor(options: KafkaTransportOptionsInput, dependencies: KafkaTransportDependencies = {}) {
    this.options = parseKafkaTransportOptions(options);
    installRequestQueueScheduler();
    this.#logger = dependencies.logger ?? pino({ name: 'mcpwatch.transport.kafka', level: 'warn' });
    const { brokers, clientId, ssl, sasl, connectionTimeoutMs, requestTimeoutMs, retry } = this.options;
    const config: KafkaConfig = {
      brokers,
      clientId,
      connectionTimeout: connectionTimeoutMs,
      requestTimeout: requestTimeoutMs,
      retry: { retries: retry.retries, initialRetryTime: retry.initialRetryTimeMs, maxRetryTime: retry.maxRetryTimeMs },
      logLevel: logLevel.WARN,
      logCreator: kafkaLogLine(this.#logger),
    };
    if (ssl !== undefined) config.ssl = ssl;
    if (sasl !== undefined) config.sasl = saslOf(sasl);
    this.#kafka = new Kafka(config);
  }

  async ensureTopics(topics: readonly TopicSpec[]): Promise<void> {
    const admin = await this.#adminClient();
    // Several members may create the same topics at once, and a topic just created may not have metadata
    // yet (UNKNOWN_TOPIC_OR_PARTITION): kafkajs marks both retriable, so the whole check runs again.
    await METADATA_RETRY.execute(() => this.#ensureTopics(admin, topics));
  }

  async #ensureTopics(admin: Admin, topics: readonly TopicSpec[]): Promise<void> {
    try {
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((spec) => !existing.has(spec.topic));
      if (missing.length > 0) {
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((spec) => ({
            topic: spec.topic,
            numPartitions: spec.partitions,
            replicationFactor: this.options.replicationFactor,
            configEntries: [{ name: 'cleanup.policy', value: spec.cleanupPolicy ?? 'delete' }],
          })),
        });
      }
      const present = topics.filter((spec) => existing.has(spec.topic));
      if (present.length === 0) return;
      const metadata = await admin.fetchTopicMetadata({ topics: present.map((spec) => spec.topic) });
      for (const spec of present) {
        const found = metadata.topics.find((topic) => topic.name === spec.topic)?.partitions.length;
        if (found !== spec.partitions) {
          // Not fatal: an operator may have added partitions on purpose. Keyed order holds per partition count.
          this.#logger.warn(
            { topic: spec.topic, expected: spec.partitions, found },
            'Existing topic has a different partition count; left as it is.',
          );
        }
      }
    } catch (error) {
      throw transportError(`ensureTopics(${topics.map((spec) => spec.topic).join(', ')})`, error);
    }
  }

  async producer(options: ProducerOptions = {}): Promise<Producer> {
    this.#assertOpen();
    const { transactionalId } = options;
    const createClient = () =>
      this.#kafka.producer({
        idempotent: true,
        // One request in flight keeps per-partition order exact across kafkajs's retries.
        maxInFlightRequests: 1,
        createPartitioner: Partitioners.DefaultPartitioner,
        allowAutoTopicCreation: false,
        ...(transactionalId === undefined ? {} : { transactionalId, transactionTimeout: TRANSACTION_TIMEOUT_MS }),
      });
    const connect = async (client: KafkaProducerClient): Promise<void> => {
      await client.connect();
      // kafkajs initializes a transactional id at its first transaction: an empty one does it now, so this
      // producer fences its predecessor (and the broker aborts what that one left open) before the first send.
      if (transactionalId !== undefined) await (await client.transaction()).abort();
    };
    const client = createClient();
    try {
      await connect(client);
    } catch (error) {
      await client.disconnect().catch(() => undefined);
      throw transportError('producer connect', error);
    }
    const producer = new KafkaProducer(client, createClient, {
      connect,
      ackTimeoutMs: this.options.producer.ackTimeoutMs,
      transactionalId,
      awaitReadable: (topic, offsets) => this.#awaitReadable(topic, offsets),
      partitionCount: (topic) => this.partitionCount(topic),
      onClose: () => this.#open.delete(producer),
    });
    this.#open.add(producer);
    return producer;
  }

  /**
   * Polls the last stable offsets until each partition's passes its offset: long enough for a transaction of a
   * dead producer, opened before this one's, to be aborted by the broker.
   */
  async #awaitReadable(topic: string, offsets: ReadonlyMap<number, bigint>): Promise<void> {
    if (offsets.size === 0) return;
    const admin = await this.#adminClient();
    const timeoutMs = TRANSACTION_TIMEOUT_MS + ABORT_SWEEP_MS + this.options.producer.ackTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let stable: { partition: number; offset: string }[];
      try {
        stable = await admin.fetchTopicOffsets(topic);
      } catch (error) {
        throw transportError(`awaiting the commit to ${topic}`, error);
      }
      const readable = [...offsets].every(([partition, offset]) => {
        const found = stable.find((entry) => entry.partition === partition);
        return found !== undefined && BigInt(found.offset) > offset;
      });
      if (readable) return;
      if (Date.now() > deadline) {
        throw new McpwatchError(
          'TRANSPORT_FAILED',
          `Kafka transaction to ${topic} committed but not readable after ${timeoutMs} ms (a transaction still open before it?)`,
          { retriable: true },
        );
      }
      await delay(COMMIT_POLL_MS);
    }
  }

  async consumer(options: ConsumerOptions): Promise<Consumer> {
    this.#assertOpen();
    const consumer = new KafkaConsumer(
      this.#kafka.consumer(this.#consumerConfig(options.groupId)),
      options,
      this.#logger,
      () => this.#open.delete(consumer),
    );
    this.#open.add(consumer);
    return Promise.resolve(consumer);
  }

  /**
   * kafkajs has no manual assignment, so this joins a throwaway group (never committed) whose assigner gives
   * its one member exactly this partition, reads committed records (kafkajs's default isolation) from the earliest
   * offset and stops at the end fetched before reading: the last stable offset, before any open transaction.
   * Records appended meanwhile are not read.
   */
  async *readPartition(topic: string, partition: number): AsyncIterable<IncomingRecord> {
    const admin = await this.#adminClient();
    let end: bigint;
    try {
      // Right after a topic is created its leaders may not be known yet (NOT_LEADER_FOR_PARTITION): retriable.
      const watermarks = await METADATA_RETRY.execute(() =>
        admin.fetchTopicOffsets(topic).catch((error: unknown) => {
          throw transportError(`readPartition(${topic}/${partition})`, error);
        }),
      );
      const found = watermarks.find((entry) => entry.partition === partition);
      if (found === undefined) {
        throw new McpwatchError('TRANSPORT_FAILED', `Kafka readPartition: ${topic} has no partition ${partition}`);
      }
      if (BigInt(found.high) <= BigInt(found.low)) return;
      end = BigInt(found.high);
    } catch (error) {
      throw transportError(`readPartition(${topic}/${partition})`, error);
    }

    const channel = new BatchChannel<IncomingRecord>();
    const client = this.#kafka.consumer({
      ...this.#consumerConfig(`mcpwatch.read-partition.${randomUUID()}`),
      partitionAssigners: [onePartitionAssigner(topic, partition)],
    });
    client.on(client.events.CRASH, ({ payload }) => {
      channel.fail(transportError(`readPartition(${topic}/${partition})`, payload.error));
    });
    // After every batch, including a fetch of only transaction markers or aborted records (no eachBatch for
    // those), which may well be the last one.
    client.on(client.events.END_BATCH_PROCESS, ({ payload }) => {
      if (BigInt(payload.lastOffset) + 1n >= end) channel.end();
    });
    try {
      await client.connect();
      await client.subscribe({ topic, fromBeginning: true });
      await client.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const records = batch.messages
            .filter((message) => BigInt(message.offset) < end)
            .map((message) => incomingRecord(topic, partition, message));
          if (records.length > 0) await channel.push(records);
        },
      });
      for await (const records of channel) yield* records;
    } catch (error) {
      throw transportError(`readPartition(${topic}/${partition})`, error);
    } finally {
      channel.end();
      await client.disconnect();
    }
  }

  async partitionCount(topic: string): Promise<number> {
    const admin = await this.#adminClient();
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      const count = metadata.topics[0]?.partitions.length ?? 0;
      if (count === 0) throw new McpwatchError('TRANSPORT_FAILED', `Kafka topic ${topic} has no partitions`);
      return count;
    } catch (error) {
      throw transportError(`partitionCount(${topic})`, error);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const admin = this.#admin;
    this.#admin = undefined;
    const closing = [...this.#open].map((client) => client.close());
    if (admin !== undefined) closing.push(admin.then((client) => client.disconnect()));
    const failed = (await Promise.allSettled(closing)).find((result) => result.status === 'rejected');
    if (failed !== undefined) throw transportError('close', failed.reason);
  }

  #consumerConfig(groupId: string): ConsumerConfig {
    const tuning = this.options.consumer;
    return {
      groupId,
      sessionTimeout: tuning.sessionTimeoutMs,
      rebalanceTimeout: tuning.rebalanceTimeoutMs,
      heartbeatInterval: tuning.heartbeatIntervalMs,
      maxWaitTimeInMs: tuning.maxWaitTimeMs,
      maxBytesPerPartition: tuning.maxBytesPerPartition,
      maxBytes: tuning.maxBytes,
      allowAutoTopicCreation: false,
      // Partition p of every topic to one member: the detectors' engine of partition p reads the events topic
      // and the repartition topics together (see `coPartitionedAssigner`).
      partitionAssigners: [coPartitionedAssigner],
    };
  }

  #adminClient(): Promise<Admin> {
    this.#assertOpen();
    if (this.#admin === undefined) {
      const admin = this.#kafka.admin();
      const connecting = admin.connect().then(
        () => admin,
        (error: unknown) => {
          this.#admin = undefined;
          throw transportError('admin connect', error);
        },
      );
      this.#admin = connecting;
    }
    return this.#admin;
  }

  #assertOpen(): void {
    if (this.#closed) throw new McpwatchError('CLOSED', 'The Kafka transport is closed.');
  }
}
