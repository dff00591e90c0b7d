/**
 * An in-process message log for `mcpwatch serve` (one machine, no Kafka). It keeps the semantics the
 * pipeline relies on from Kafka: keyed partitioning (Kafka's murmur2, so keys land on the same partition
 * numbers), per-partition order and offsets, consumer groups with range assignment and rebalance callbacks,
 * explicit commits with redelivery from the last commit, pause/resume and compacted topics. Nothing survives
 * the process. Handlers are always called from a fresh macrotask, never re-entrantly.
 */
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { z } from 'zod';
import { formatPath } from '../contracts/parse.ts';
import { McpwatchError } from '../contracts/errors.ts';
import { partitionForKey } from './murmur2.ts';
import { PartitionSet, partitionId, sortPartitions } from './partitions.ts';
import type {
  Consumer,
  ConsumerHandlers,
  ConsumerOptions,
  Headers,
  IncomingRecord,
  OutgoingRecord,
  PartitionOffset,
  Producer,
  ProducerOptions,
  TopicPartition,
  TopicSpec,
  Transport,
} from './types.ts';

export const EmbeddedTransportOptions = z.strictObject({
  /** Bytes (keys, values, header names and values) one topic may hold; a send beyond it is refused. */
  maxBytesPerTopic: z
    .int()
    .positive()
    .default(64 * 1024 * 1024),
  /** Records one `onBatch` call receives at most. */
  maxBatchRecords: z.int().positive().default(500),
});
export type EmbeddedTransportOptions = z.infer<typeof EmbeddedTransportOptions>;
export type EmbeddedTransportOptionsInput = z.input<typeof EmbeddedTransportOptions>;

interface StoredRecord {
  offset: number;
  key: string | null;
  value: Buffer;
  headers: Headers;
  timestamp: number;
  bytes: number;
}

class PartitionLog {
  /** Ascending by offset; gaps appear where compaction or retention removed records. */
  records: StoredRecord[] = [];
  nextOffset = 0;

  /** Index of the first record at or after `offset`. */
  indexOf(offset: number): number {
    let low = 0;
    let high = this.records.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.records[middle]!.offset < offset) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

class TopicLog {
  readonly partitions: PartitionLog[];
  bytes = 0;
  /** Round-robin cursor for records without a key. */
  unkeyed = 0;

  constructor(
    readonly name: string,
    partitionCount: number,
    readonly compacted: boolean,
  ) {
    this.partitions = Array.from({ length: partitionCount }, () => new PartitionLog());
  }
}

function recordBytes(record: OutgoingRecord): number {
  let bytes = Buffer.byteLength(record.value) + (record.key === null ? 0 : Buffer.byteLength(record.key));
  for (const [name, value] of Object.entries(record.headers ?? {}))
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
  return bytes;
}

function incoming(topic: string, partition: number, record: StoredRecord): IncomingRecord {
  return {
    topic,
    partition,
    offset: String(record.offset),
    key: record.key,
    // A copy: a handler that mutates its buffer must not change what the log replays.
    value: Buffer.from(record.value),
    headers: { ...record.headers },
    timestamp: record.timestamp,
  };
}

export class EmbeddedTransport implements Transport {
  readonly kind = 'embedded';
  readonly options: EmbeddedTransportOptions;
  readonly #topics = new Map<string, TopicLog>();
  readonly #groups = new Map<string, ConsumerGroup>();
  readonly #members = new Set<EmbeddedConsumer>();
  /** The producer that last opened each transactional id: only it may send. */
  readonly #transactionalOwners = new Map<string, Producer>();
  #closed = false;

  constructor(options: EmbeddedTransportOptionsInput = {}) {
    const result = EmbeddedTransportOptions.safeParse(options);
    if (!result.success) {
      const issues = result.error.issues.map(
        (issue) => `${issue.path.length === 0 ? 'embedded' : `embedded.${formatPath(issue.path)}`}: ${issue.message}`,
      );
      throw new McpwatchError('CONFIG_INVALID', `Invalid embedded transport options: ${issues.join('; ')}`);
    }
    this.options = result.data;
  }

  ensureTopics(topics: readonly TopicSpec[]): Promise<void> {
    this.#assertOpen();
    for (const spec of topics) {
      if (!Number.isInteger(spec.partitions) || spec.partitions < 1) {
        return Promise.reject(
          new McpwatchError('CONFIG_INVALID', `Topic ${spec.topic}: partitions must be a positive integer`),
        );
      }
      if (!this.#topics.has(spec.topic)) {
        this.#topics.set(spec.topic, new TopicLog(spec.topic, spec.partitions, spec.cleanupPolicy === 'compact'));
      }
    }
    return Promise.resolve();
  }

  /**
   * Every send is all or nothing already: `#append` checks the whole send before it appends any of it, in one
   * synchronous step, and the log lives in this process only (nothing is persisted that a crash could cut short).
   * A transactional id only fences: a producer opened with it stops the one that held it before.
   */
  producer(options: ProducerOptions = {}): Promise<Producer> {
    this.#assertOpen();
    const { transactionalId } = options;
    let closed = false;
    const producer: Producer = {
      send: async (topic, records) => {
        if (closed || this.#closed) throw new McpwatchError('CLOSED', 'The embedded producer is closed.');
        // Like a network round trip: the caller's continuation never runs inside send's own turn.
        await Promise.resolve();
        if (transactionalId !== undefined && this.#transactionalOwners.get(transactionalId) !== producer) {
          throw new McpwatchError(
            'TRANSPORT_FAILED',
            `Embedded producer fenced: another producer took transactional id ${transactionalId}; this one sends no more.`,
          );
        }
        this.#append(topic, records);
      },
      close: () => {
        closed = true;
        return Promise.resolve();
      },
    };
    if (transactionalId !== undefined) this.#transactionalOwners.set(transactionalId, producer);
    return Promise.resolve(producer);
  }

  async consumer(options: ConsumerOptions): Promise<Consumer> {
    await Promise.resolve();
    this.#assertOpen();
    for (const topic of options.topics) this.topic(topic);
    let group = this.#groups.get(options.groupId);
    if (group === undefined) {
      group = new ConsumerGroup(options.groupId, this);
      this.#groups.set(options.groupId, group);
    }
    const member = new EmbeddedConsumer(this, group, options);
    this.#members.add(member);
    return member;
  }

  /** The records as they are at call time; for compacted topics only the latest record of each key. */
  async *readPartition(topic: string, partition: number): AsyncIterable<IncomingRecord> {
    const log = this.#partition(topic, partition);
    let records = log.records.slice();
    if (this.topic(topic).compacted) {
      const latest = new Map<string, number>();
      for (const record of records) if (record.key !== null) latest.set(record.key, record.offset);
      records = records.filter((record) => record.key === null || latest.get(record.key) === record.offset);
    }
    for (const [index, record] of records.entries()) {
      if (index % this.options.maxBatchRecords === 0) await nextMacrotask();
      yield incoming(topic, partition, record);
    }
  }

  async partitionCount(topic: string): Promise<number> {
    await Promise.resolve();
    return this.topic(topic).partitions.length;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#members].map((member) => member.close()));
  }

  /** @internal */
  topic(name: string): TopicLog {
    const topic = this.#topics.get(name);
    if (topic === undefined) {
      throw new McpwatchError('TRANSPORT_FAILED', `Embedded topic ${name} does not exist (ensureTopics creates it)`);
    }
    return topic;
  }

  /** @internal */
  forget(member: EmbeddedConsumer): void {
    this.#members.delete(member);
  }

  #partition(topic: string, partition: number): PartitionLog {
    const log = this.topic(topic).partitions[partition];
    if (log === undefined)
      throw new McpwatchError('TRANSPORT_FAILED', `Embedded topic ${topic} has no partition ${partition}`);
    return log;
  }

  #append(name: string, records: readonly OutgoingRecord[]): void {
    const topic = this.topic(name);
    const invalid = records.find(
      ({ partition }) =>
        partition !== undefined &&
        !(Number.isInteger(partition) && partition >= 0 && partition < topic.partitions.length),
    );
    if (invalid !== undefined) {
      throw new McpwatchError(
        'TRANSPORT_FAILED',
        `Embedded topic ${name} has no partition ${String(invalid.partition)} (it has ${topic.partitions.length})`,
      );
    }
    const bytes = records.reduce((sum, record) => sum + recordBytes(record), 0);
    const limit = this.options.maxBytesPerTopic;
    if (topic.bytes + bytes > limit) {
      const incomingKeys = new Set(records.flatMap((record) => (record.key === null ? [] : [record.key])));
      // Compaction and retention change nothing a reader can see, so they apply even when the send then fails.
      this.#reclaimable(topic, incomingKeys).apply();
    }
    if (topic.bytes + bytes > limit) {
      throw new McpwatchError(
        'LIMIT_EXCEEDED',
        `Embedded topic ${name} is full: ${topic.bytes} bytes held after compaction + ${bytes} bytes sent ` +
          `> maxBytesPerTopic ${limit}; the send was refused, nothing was appended.`,
        { retriable: true },
      );
    }
    const timestamp = Date.now();
    for (const record of records) {
      const partition =
        record.partition ??
        (record.key === null
          ? topic.unkeyed++ % topic.partitions.length
          : partitionForKey(record.key, topic.partitions.length));
      const log = topic.partitions[partition]!;
      log.records.push({
        offset: log.nextOffset++,
        key: record.key,
        value: Buffer.from(record.value),
        headers: { ...record.headers },
        timestamp,
        bytes: recordBytes(record),
      });
    }
    topic.bytes += bytes;
    for (const member of this.#members) member.wake(name);
  }

  /**
   * What can be freed of what Kafka would eventually delete too: superseded records of a compacted topic
   * (including those the send at hand supersedes) and their tombstones once read, and records of a
   * delete-policy topic that every group reading it has committed past. Unconsumed records are never freed.
   */
  #reclaimable(topic: TopicLog, incomingKeys: ReadonlySet<string>): { bytes: number; apply: () => void } {
    const readers = [...this.#groups.values()].filter((group) => group.reads(topic.name));
    const plans: { log: PartitionLog; kept: StoredRecord[] }[] = [];
    let bytes = 0;
    for (const [partition, log] of topic.partitions.entries()) {
      let keep: (record: StoredRecord) => boolean;
      if (topic.compacted) {
        const latest = new Map<string, number>();
        for (const record of log.records) if (record.key !== null) latest.set(record.key, record.offset);
        // A tombstone (empty value) that is the latest of its key goes too once every reading group is past
        // it, as Kafka drops tombstones after `delete.retention.ms`: the key then reads as never written.
        const floor =
          readers.length === 0
            ? Infinity
            : Math.min(...readers.map((group) => group.committedOffset({ topic: topic.name, partition }) ?? 0));
        keep = (record) =>
          record.key === null ||
          (latest.get(record.key) === record.offset &&
            !incomingKeys.has(record.key) &&
            !(record.value.length === 0 && record.offset < floor));
      } else {
        if (readers.length === 0) continue;
        const floor = Math.min(...readers.map((group) => group.committedOffset({ topic: topic.name, partition }) ?? 0));
        keep = (record) => record.offset >= floor;
      }
      const kept = log.records.filter(keep);
      for (const record of log.records) if (!keep(record)) bytes += record.bytes;
      plans.push({ log, kept });
    }
    return {
      bytes,
      apply: () => {
        for (const { log, kept } of plans) log.records = kept;
        topic.bytes -= bytes;
      },
    };
  }

  #assertOpen(): void {
    if (this.#closed) throw new McpwatchError('CLOSED', 'The embedded transport is closed.');
  }
}

/** Members, their range assignment and the committed offsets of one group id. */
class ConsumerGroup {
  readonly #committed = new Map<string, number>();
  /** Live members in join order; range assignment hands partitions out in this order. */
  readonly members: EmbeddedConsumer[] = [];
  readonly #topics = new Set<string>();
  #rebalancing: Promise<void> = Promise.resolve();
  /** Revocations of members that left: run inside the rebalance, before anyone is given their partitions. */
  #departedRevocations: (() => Promise<void>)[] = [];

  constructor(
    readonly id: string,
    readonly transport: EmbeddedTransport,
  ) {}

  reads(topic: string): boolean {
    return this.#topics.has(topic);
  }

  committedOffset(partition: TopicPartition): number | undefined {
    return this.#committed.get(partitionId(partition));
  }

  commit(partition: TopicPartition, offset: number): void {
    this.#committed.set(partitionId(partition), offset);
  }

  join(member: EmbeddedConsumer): Promise<void> {
    this.members.push(member);
    for (const topic of member.topics) this.#topics.add(topic);
    return this.#rebalance();
  }

  leave(member: EmbeddedConsumer): Promise<void> {
    const index = this.members.indexOf(member);
    if (index >= 0) this.members.splice(index, 1);
    return this.#rebalance();
  }

  /**
   * One rebalance at a time. Moving partitions are first revoked from their owners (which may flush and
   * commit), and only then assigned, so a new owner starts from the previous owner's last commit.
   */
  #rebalance(): Promise<void> {
    const next = this.#rebalancing.then(async () => {
      const target = this.#rangeAssignment();
      await Promise.all(this.members.map((member) => member.revokeAllBut(target.get(member) ?? new PartitionSet())));
      const departed = this.#departedRevocations;
      this.#departedRevocations = [];
      await Promise.all(departed.map((revoke) => revoke()));
      await Promise.all(this.members.map((member) => member.assign(target.get(member) ?? new PartitionSet())));
    });
    this.#rebalancing = next.catch(() => undefined);
    return next;
  }

  scheduleDeparture(revoke: () => Promise<void>): void {
    this.#departedRevocations.push(revoke);
  }

  /** Kafka's range assignor: per topic, contiguous ranges; the first `count % members` get one more. */
  #rangeAssignment(): Map<EmbeddedConsumer, PartitionSet> {
    const assignment = new Map<EmbeddedConsumer, PartitionSet>(
      this.members.map((member) => [member, new PartitionSet()]),
    );
    const topics = [...new Set(this.members.flatMap((member) => member.topics))].sort();
    for (const topic of topics) {
      const readers = this.members.filter((member) => member.topics.includes(topic));
      const count = this.transport.topic(topic).partitions.length;
      const base = Math.floor(count / readers.length);
      const extra = count % readers.length;
      let next = 0;
      for (const [index, member] of readers.entries()) {
        const share = base + (index < extra ? 1 : 0);
        for (let partition = next; partition < next + share; partition++)
          assignment.get(member)!.add({ topic, partition });
        next += share;
      }
    }
    return assignment;
  }
}

class EmbeddedConsumer implements Consumer {
  readonly topics: string[];
  readonly #transport: EmbeddedTransport;
  readonly #group: ConsumerGroup;
  readonly #from: 'earliest' | 'latest';
  /** Partitions this member may commit: assigned and `onRevoked` not yet returned. */
  readonly #owned = new PartitionSet();
  /** Partitions batches are delivered for: assigned and not being revoked. */
  readonly #deliverable = new PartitionSet();
  readonly #positions = new Map<string, number>();
  readonly #paused = new PartitionSet();
  /** Every handler call runs on this chain, so none overlaps another. */
  #serial: Promise<void> = Promise.resolve();
  #handlers: ConsumerHandlers | undefined;
  #wake: (() => void) | undefined;
  #cursor = 0;
  #failure: { error: unknown } | undefined;
  #closing: Promise<void> | undefined;
  #joined = false;

  constructor(transport: EmbeddedTransport, group: ConsumerGroup, options: ConsumerOptions) {
    this.#transport = transport;
    this.#group = group;
    this.topics = [...options.topics];
    this.#from = options.from ?? 'earliest';
  }

  async run(handlers: ConsumerHandlers): Promise<void> {
    if (this.#handlers !== undefined) throw new McpwatchError('TRANSPORT_FAILED', 'Consumer.run was already called.');
    if (this.#closing !== undefined) throw new McpwatchError('CLOSED', 'The embedded consumer is closed.');
    this.#handlers = handlers;
    this.#joined = true;
    await this.#group.join(this);
    await this.#deliver();
    await this.close();
    if (this.#failure !== undefined) throw this.#failure.error;
  }

  commit(offsets: readonly PartitionOffset[]): Promise<void> {
    const notOwned = offsets.filter((offset) => !this.#owned.has(offset));
    if (notOwned.length > 0) {
      const list = notOwned.map((offset) => `${offset.topic}/${offset.partition}`).join(', ');
      return Promise.reject(
        new McpwatchError(
          'TRANSPORT_FAILED',
          `Embedded commit refused: ${list} not assigned to this member (revoked by a rebalance or closed)`,
        ),
      );
    }
    const invalid = offsets.find((offset) => !/^(0|[1-9]\d{0,15})$/.test(offset.offset));
    if (invalid !== undefined) {
      return Promise.reject(
        new McpwatchError('TRANSPORT_FAILED', `Embedded commit: ${JSON.stringify(invalid.offset)} is not an offset`),
      );
    }
    for (const offset of offsets) this.#group.commit(offset, Number(offset.offset));
    return Promise.resolve();
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const partition of partitions) this.#paused.add(partition);
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const partition of partitions) this.#paused.delete(partition);
    this.#wake?.();
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutDown();
    return this.#closing;
  }

  /** @internal Called on every append; cheap when the topic is not read here. */
  wake(topic: string): void {
    if (this.topics.includes(topic)) this.#wake?.();
  }

  /** @internal Stops delivering what is not in `target` at once; `onRevoked` after the batch in flight. */
  revokeAllBut(target: PartitionSet): Promise<void> {
    const revoked = this.#owned.minus(target);
    for (const partition of revoked) this.#deliverable.delete(partition);
    return this.#inSerial(async (handlers) => {
      if (revoked.length > 0) await handlers.onRevoked?.(revoked);
      for (const partition of revoked) {
        this.#owned.delete(partition);
        this.#positions.delete(partitionId(partition));
      }
    });
  }

  /** @internal Starts delivering what is new in `target`, from the group's commit; `onAssigned` first. */
  assign(target: PartitionSet): Promise<void> {
    const gained = target.minus(this.#owned);
    if (gained.length === 0) return Promise.resolve();
    for (const partition of gained) {
      this.#owned.add(partition);
      const committed = this.#group.committedOffset(partition);
      const log = this.#transport.topic(partition.topic).partitions[partition.partition]!;
      const start = committed ?? (this.#from === 'latest' ? log.nextOffset : 0);
      this.#positions.set(partitionId(partition), start);
    }
    return this.#inSerial(async (handlers) => {
      await handlers.onAssigned?.(gained);
      for (const partition of gained) if (this.#owned.has(partition)) this.#deliverable.add(partition);
      this.#wake?.();
    });
  }

  async #shutDown(): Promise<void> {
    this.#transport.forget(this);
    this.#wake?.();
    if (!this.#joined) return;
    // The member's partitions are revoked inside the group's rebalance, before anyone else gets them.
    this.#group.scheduleDeparture(() => this.revokeAllBut(new PartitionSet()));
    await this.#group.leave(this);
  }

  /** The delivery loop: one partition's batch at a time, round-robin over deliverable partitions. */
  async #deliver(): Promise<void> {
    while (this.#closing === undefined && this.#failure === undefined) {
      const batch = this.#nextBatch();
      if (batch === undefined) {
        await new Promise<void>((wake) => {
          this.#wake = wake;
        });
        this.#wake = undefined;
        continue;
      }
      await nextMacrotask();
      await this.#inSerial(async (handlers) => {
        const partition = { topic: batch.topic, partition: batch.partition };
        // A rebalance or pause may have happened while this turn waited.
        if (this.#closing !== undefined || !this.#deliverable.has(partition) || this.#paused.has(partition)) return;
        const first = batch.records[0]!;
        if (this.#positions.get(partitionId(partition)) !== Number(first.offset)) return;
        await handlers.onBatch(batch);
        this.#positions.set(partitionId(partition), Number(batch.records.at(-1)!.offset) + 1);
      });
    }
  }

  #nextBatch(): { topic: string; partition: number; records: IncomingRecord[] } | undefined {
    const candidates = sortPartitions(this.#deliverable.toArray()).filter((partition) => !this.#paused.has(partition));
    for (let step = 0; step < candidates.length; step++) {
      const partition = candidates[(this.#cursor + step) % candidates.length]!;
      const position = this.#positions.get(partitionId(partition)) ?? 0;
      const log = this.#transport.topic(partition.topic).partitions[partition.partition]!;
      if (position >= log.nextOffset) continue;
      const from = log.indexOf(position);
      const stored = log.records.slice(from, from + this.#transport.options.maxBatchRecords);
      if (stored.length === 0) {
        // Everything from `position` on was reclaimed (only possible for compacted topics): skip to the end.
        this.#positions.set(partitionId(partition), log.nextOffset);
        continue;
      }
      this.#cursor = (this.#cursor + step + 1) % candidates.length;
      // Reclaimed offsets are skipped; the position moves to the first stored record.
      this.#positions.set(partitionId(partition), stored[0]!.offset);
      return { ...partition, records: stored.map((record) => incoming(partition.topic, partition.partition, record)) };
    }
    return undefined;
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
        this.#failure = { error };
        void this.close();
      }
    });
    this.#serial = next;
    return next;
  }
}
