/**
 * The Transport seam over kafkajs. Kept thin on purpose: kafkajs is in maintenance mode, so everything
 * mcpwatch relies on is pinned by `test/support/transport-contract.ts`, and another client is one more file passing it.
 */
import { randomUUID } from 'node:crypto';
import {
  AssignerProtocol,
  Kafka,
  Partitioners,
  logLevel,
  type Admin,
  type Consumer as KafkaConsumerClient,
  type ConsumerConfig,
  type EachBatchPayload,
  type IHeaders,
  type KafkaConfig,
  type KafkaMessage,
  type LogEntry,
  type PartitionAssigner,
  type Producer as KafkaProducerClient,
  type SASLOptions,
} from 'kafkajs';
import { pino, type Logger } from 'pino';
import { McpwatchError, isMcpwatchError } from '../contracts/errors.ts';
import {
  parseKafkaTransportOptions,
  type KafkaSaslOptions,
  type KafkaTransportOptions,
  type KafkaTransportOptionsInput,
} from './kafka-options.ts';
import { PartitionSet } from './partitions.ts';
import type {
  Consumer,
  ConsumerHandlers,
  ConsumerOptions,
  Headers,
  IncomingRecord,
  OutgoingRecord,
  PartitionOffset,
  Producer,
  TopicPartition,
  TopicSpec,
  Transport,
} from './types.ts';

export interface KafkaTransportDependencies {
  /** kafkajs's own log lines at warn and above go here; below warn they are not produced at all. */
  logger?: Logger;
}

/** The kafkajs error shape we read; kafkajs marks transient broker errors `retriable`. */
interface KafkaJsErrorLike {
  name?: string;
  type?: string;
  retriable?: boolean;
  message?: string;
}

function kafkaErrorOf(error: unknown): KafkaJsErrorLike {
  return typeof error === 'object' && error !== null ? error : {};
}

function isRebalancing(error: unknown): boolean {
  const type = kafkaErrorOf(error).type;
  return type === 'REBALANCE_IN_PROGRESS' || type === 'NOT_COORDINATOR_FOR_GROUP' || type === 'ILLEGAL_GENERATION';
}

function transportError(action: string, error: unknown): McpwatchError {
  if (isMcpwatchError(error)) return error;
  const { type, message, retriable } = kafkaErrorOf(error);
  const detail = type === undefined ? (message ?? String(error)) : `${type}: ${message ?? ''}`;
  return new McpwatchError('TRANSPORT_FAILED', `Kafka ${action} failed: ${detail}`, {
    cause: error,
    retriable: retriable === true,
  });
}

function headersOf(headers: IHeaders | undefined): Headers {
  const out: Headers = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    // A repeated header arrives as an array; the last one wins, as Kafka's `lastHeader` reads it.
    const last = Array.isArray(value) ? value.at(-1) : value;
    if (last !== undefined) out[name] = last.toString();
  }
  return out;
}

function incomingRecord(topic: string, partition: number, message: KafkaMessage): IncomingRecord {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key === null ? null : message.key.toString('utf8'),
    value: message.value ?? Buffer.alloc(0),
    headers: headersOf(message.headers),
    timestamp: Number(message.timestamp),
  };
}

/**
 * kafkajs lines that are not news at warn: `Connection` logs every error response at error level, including
 * the rebalance, leader-change and coordinator-loading answers kafkajs handles itself (what it cannot handle
 * reaches mcpwatch as a thrown error); and the idempotent producer warns that bounded retries weaken its
 * exactly-once claim, which mcpwatch does not make (sends are at least once; retries are bounded on purpose
 * so that a dead broker surfaces as an error).
 */
function isRoutine(namespace: string, message: string): boolean {
  return (
    (namespace === 'Connection' && message.startsWith('Response ')) ||
    (namespace === 'Producer' && message.startsWith('Limiting retries for the idempotent producer'))
  );
}

function kafkaLogLine(logger: Logger) {
  return () =>
    ({ namespace, level, log }: LogEntry): void => {
      const { message, timestamp: _timestamp, logger: _name, ...detail } = log;
      if (isRoutine(namespace, message)) return;
      const line = { kafkajs: { namespace, ...detail } };
      if (level === logLevel.ERROR || level === logLevel.NOTHING) logger.error(line, message);
      else logger.warn(line, message);
    };
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

  async producer(): Promise<Producer> {
    this.#assertOpen();
    const client = this.#kafka.producer({
      idempotent: true,
      // One request in flight keeps per-partition order exact across kafkajs's retries.
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
    try {
      await client.connect();
    } catch (error) {
      throw transportError('producer connect', error);
    }
    const producer = new KafkaProducer(client, this.options.producer.ackTimeoutMs, () => this.#open.delete(producer));
    this.#open.add(producer);
    return producer;
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
   * its one member exactly this partition, reads from the earliest offset and stops at the high watermark
   * fetched before reading. Records appended meanwhile are not read.
   */
  async *readPartition(topic: string, partition: number): AsyncIterable<IncomingRecord> {
    const admin = await this.#adminClient();
    let end: bigint;
    try {
      const watermarks = await admin.fetchTopicOffsets(topic);
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
          if (BigInt(batch.lastOffset()) + 1n >= end) channel.end();
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

class KafkaProducer implements Producer {
  readonly #client: KafkaProducerClient;
  readonly #ackTimeoutMs: number;
  readonly #onClose: () => void;
  #closed = false;

  constructor(client: KafkaProducerClient, ackTimeoutMs: number, onClose: () => void) {
    this.#client = client;
    this.#ackTimeoutMs = ackTimeoutMs;
    this.#onClose = onClose;
  }

  async send(topic: string, records: readonly OutgoingRecord[]): Promise<void> {
    if (this.#closed) throw new McpwatchError('CLOSED', 'The Kafka producer is closed.');
    if (records.length === 0) return;
    try {
      await this.#client.send({
        topic,
        acks: -1,
        timeout: this.#ackTimeoutMs,
        messages: records.map((record) => ({
          key: record.key,
          value: record.value,
          headers: record.headers ?? {},
          ...(record.partition === undefined ? {} : { partition: record.partition }),
        })),
      });
    } catch (error) {
      throw transportError(`send to ${topic}`, error);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose();
    try {
      await this.#client.disconnect();
    } catch (error) {
      throw transportError('producer close', error);
    }
  }
}

/**
 * Rebalances, precisely. kafkajs uses the eager protocol and has no "before revoke" hook; it reports a
 * rebalance only as an error from a heartbeat (or commit), then emits REBALANCING and rejoins at once.
 *
 * - Eager means every rebalance revokes every partition of every member, and then assigns again, including
 *   the partitions a member keeps: `onRevoked(all)` then `onAssigned(all new)`, state restored each time.
 * - kafkajs's heartbeat (sent at most every `heartbeatIntervalMs`) is called right after every `onBatch`,
 *   inside kafkajs's batch callback. When it reports a rebalance, `onRevoked` runs there, before kafkajs can
 *   rejoin: the generation is still valid, so commits made in `onRevoked` succeed (like the Java client's
 *   `onPartitionsRevoked`). This is how a busy member learns of a rebalance.
 * - When the rebalance is noticed between batches (an idle member, by kafkajs's own heartbeat), `onRevoked`
 *   starts on REBALANCING while kafkajs rejoins concurrently: its commits succeed only if they reach the
 *   broker before the new generation forms, and fail with a non-retriable TRANSPORT_FAILED after. Records
 *   processed but not committed are then delivered again to their next owner: at least once, never lost.
 * - `onAssigned(new assignment)` runs after the member joined (GROUP_JOIN) and before any batch is delivered;
 *   `onRevoked` always completes first. No handler runs concurrently with another.
 * - `close()` pauses fetching, waits for the batch in flight, runs `onRevoked` while still a member (commits
 *   succeed), then leaves the group.
 * - `commit` refuses partitions this member no longer owns, so a late commit can never move the offsets
 *   of a partition that now belongs to another member.
 */
class KafkaConsumer implements Consumer {
  readonly #client: KafkaConsumerClient;
  readonly #options: ConsumerOptions;
  readonly #logger: Logger;
  readonly #onClose: () => void;
  /** What the group's current generation assigned to this member: what may be committed. */
  readonly #assignment = new PartitionSet();
  /** What `onAssigned` was called for and `onRevoked` not yet: what batches are delivered for. */
  readonly #active = new PartitionSet();
  readonly #paused = new PartitionSet();
  /** Every handler call runs on this chain, so none overlaps another. */
  #serial: Promise<void> = Promise.resolve();
  #handlers: ConsumerHandlers | undefined;
  #commitInGeneration: EachBatchPayload['commitOffsetsIfNecessary'] | undefined;
  #failure: { error: unknown } | undefined;
  #running = false;
  #closing: Promise<void> | undefined;
  #settle: { resolve: () => void; reject: (error: unknown) => void } | undefined;

  constructor(client: KafkaConsumerClient, options: ConsumerOptions, logger: Logger, onClose: () => void) {
    this.#client = client;
    this.#options = options;
    this.#logger = logger.child({ groupId: options.groupId });
    this.#onClose = onClose;
    const { GROUP_JOIN, REBALANCING, CRASH } = client.events;
    client.on(GROUP_JOIN, ({ payload }) => this.#joined(payload.memberAssignment));
    client.on(REBALANCING, () => void this.#revokeActive());
    client.on(CRASH, ({ payload }) => this.#crashed(payload.error, payload.restart));
  }

  async run(handlers: ConsumerHandlers): Promise<void> {
    if (this.#handlers !== undefined) throw new McpwatchError('TRANSPORT_FAILED', 'Consumer.run was already called.');
    if (this.#closing !== undefined) throw new McpwatchError('CLOSED', 'The Kafka consumer is closed.');
    this.#handlers = handlers;
    const finished = new Promise<void>((resolve, reject) => {
      this.#settle = { resolve, reject };
    });
    try {
      await this.#client.connect();
      await this.#client.subscribe({ topics: this.#options.topics, fromBeginning: this.#options.from !== 'latest' });
      this.#running = true;
      await this.#client.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: (payload) => this.#eachBatch(payload),
      });
      this.#applyPause(this.#paused.toArray(), true);
    } catch (error) {
      this.#fail(transportError(`consumer run (group ${this.#options.groupId})`, error));
    }
    return finished;
  }

  async commit(offsets: readonly PartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    const notOwned = offsets.filter((offset) => !this.#assignment.has(offset));
    if (notOwned.length > 0) {
      const list = notOwned.map((offset) => `${offset.topic}/${offset.partition}`).join(', ');
      throw new McpwatchError(
        'TRANSPORT_FAILED',
        `Kafka commit refused: ${list} not assigned to this member (revoked by a rebalance or closed); ` +
          'its next owner reads again from the last commit.',
      );
    }
    const byTopic = new Map<string, { partition: number; offset: string }[]>();
    for (const { topic, partition, offset } of offsets) {
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), { partition, offset }]);
    }
    try {
      if (this.#commitInGeneration === undefined) {
        await this.#client.commitOffsets(offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })));
      } else {
        // Bound to kafkajs's current group member: one attempt, and a stale generation is an error rather than
        // a retry that could land in the next generation.
        await this.#commitInGeneration({
          topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
        });
      }
    } catch (error) {
      const failure = transportError(`commit (group ${this.#options.groupId})`, error);
      throw isRebalancing(error)
        ? new McpwatchError('TRANSPORT_FAILED', failure.message, { cause: error, retriable: false })
        : failure;
    }
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const partition of partitions) this.#paused.add(partition);
    this.#applyPause(partitions, true);
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const partition of partitions) this.#paused.delete(partition);
    this.#applyPause(partitions, false);
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutDown();
    return this.#closing;
  }

  async #shutDown(): Promise<void> {
    this.#onClose();
    if (this.#running) {
      // Paused, kafkajs keeps heartbeating without fetching, so the member stays valid while onRevoked runs.
      this.#applyPause(this.#assignment.toArray(), true);
      await this.#revokeActive();
    }
    this.#running = false;
    try {
      await this.#client.disconnect();
    } catch (error) {
      this.#fail(transportError('consumer close', error));
    }
    this.#assignment.clear();
    if (this.#failure === undefined) this.#settle?.resolve();
    else this.#settle?.reject(this.#failure.error);
  }

  async #eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    this.#commitInGeneration = (offsets) => payload.commitOffsetsIfNecessary(offsets);
    const partition = { topic: batch.topic, partition: batch.partition };
    let delivered = false;
    await this.#inSerial(async (handlers) => {
      // Not resolved: kafkajs fetches these records again when the partition is resumed or reassigned.
      if (this.#closing !== undefined || !payload.isRunning() || payload.isStale()) return;
      if (!this.#active.has(partition) || this.#paused.has(partition) || batch.isEmpty()) return;
      const records = batch.messages.map((message) => incomingRecord(batch.topic, batch.partition, message));
      await handlers.onBatch({ ...partition, records });
      payload.resolveOffset(batch.lastOffset());
      delivered = true;
    });
    if (this.#failure !== undefined) {
      // Non-retriable, so kafkajs stops instead of redelivering; run() rejects with the handler's own error.
      throw new McpwatchError('TRANSPORT_FAILED', 'Consumer handler failed; consumer stopping.', { retriable: false });
    }
    if (!delivered) return;
    try {
      await payload.heartbeat();
    } catch (error) {
      if (isRebalancing(error)) await this.#revokeActive();
      throw error;
    }
  }

  #joined(memberAssignment: Record<string, number[]>): void {
    const next = new PartitionSet(
      Object.entries(memberAssignment).flatMap(([topic, partitions]) =>
        partitions.map((partition) => ({ topic, partition })),
      ),
    );
    this.#assignment.clear();
    for (const partition of next.toArray()) this.#assignment.add(partition);
    void this.#inSerial(async (handlers) => {
      // Normally empty (REBALANCING revoked everything); not when the member was dropped and rejoined.
      const lost = this.#active.minus(next);
      for (const partition of lost) this.#active.delete(partition);
      if (lost.length > 0) await handlers.onRevoked?.(lost);
      const gained = next.minus(this.#active);
      for (const partition of gained) this.#active.add(partition);
      if (gained.length > 0) await handlers.onAssigned?.(gained);
    });
  }

  #revokeActive(): Promise<void> {
    return this.#inSerial(async (handlers) => {
      const revoked = this.#active.toArray();
      this.#active.clear();
      if (revoked.length > 0) await handlers.onRevoked?.(revoked);
    });
  }

  #crashed(error: Error, restart: boolean): void {
    // kafkajs has left the group: nothing this member held may be committed any more, and the commit bound
    // to the old group member is stale.
    this.#assignment.clear();
    this.#commitInGeneration = undefined;
    if (restart) {
      this.#logger.warn({ err: error }, 'Kafka consumer failed with a retriable error; kafkajs restarts it.');
      return;
    }
    this.#fail(transportError(`consumer (group ${this.#options.groupId})`, error));
  }

  /** Records the first failure and shuts down; `run` rejects with it. */
  #fail(error: unknown): void {
    this.#failure ??= { error };
    void this.close();
  }

  /** Runs `step` after every earlier handler call; a handler failure stops the consumer. */
  #inSerial(step: (handlers: ConsumerHandlers) => Promise<void>): Promise<void> {
    const handlers = this.#handlers;
    if (handlers === undefined) return Promise.resolve();
    const next = this.#serial.then(async () => {
      if (this.#failure !== undefined) return;
      try {
        await step(handlers);
      } catch (error) {
        this.#fail(error);
      }
    });
    this.#serial = next;
    return next;
  }

  #applyPause(partitions: readonly TopicPartition[], pause: boolean): void {
    if (!this.#running || partitions.length === 0) return;
    const byTopic = new Map<string, number[]>();
    for (const { topic, partition } of partitions) byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
    const request = [...byTopic].map(([topic, list]) => ({ topic, partitions: list }));
    try {
      if (pause) this.#client.pause(request);
      else this.#client.resume(request);
    } catch (error) {
      // Only after kafkajs stopped the group (a crash): there is nothing left to pause.
      this.#logger.warn({ err: error }, 'Kafka consumer pause/resume ignored; the consumer is not running.');
    }
  }
}

/** A kafkajs assigner that gives the first member one partition, so a group can read just that partition. */
function onePartitionAssigner(topic: string, partition: number): PartitionAssigner {
  const name = 'mcpwatch-one-partition';
  return () => ({
    name,
    version: 0,
    assign: ({ members }) =>
      Promise.resolve(
        members.map((member, index) => ({
          memberId: member.memberId,
          memberAssignment: AssignerProtocol.MemberAssignment.encode({
            version: 0,
            assignment: index === 0 ? { [topic]: [partition] } : {},
            userData: Buffer.alloc(0),
          }),
        })),
      ),
    protocol: ({ topics }) => ({
      name,
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
    }),
  });
}

/** Hands batches from a push callback to an async iterator, one at a time: `push` waits until taken. */
class BatchChannel<T> implements AsyncIterable<T[]> {
  #pending: { items: T[]; taken: () => void } | undefined;
  #wake: (() => void) | undefined;
  #ended = false;
  #error: Error | undefined;

  push(items: T[]): Promise<void> {
    if (this.#ended) return Promise.resolve();
    return new Promise((taken) => {
      this.#pending = { items, taken };
      this.#wake?.();
    });
  }

  end(): void {
    this.#ended = true;
    this.#pending?.taken();
    this.#wake?.();
  }

  fail(error: Error): void {
    this.#error ??= error;
    this.end();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T[]> {
    for (;;) {
      const pending = this.#pending;
      if (pending !== undefined) {
        this.#pending = undefined;
        yield pending.items;
        pending.taken();
        continue;
      }
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended) return;
      await new Promise<void>((wake) => {
        this.#wake = wake;
      });
      this.#wake = undefined;
    }
  }
}
