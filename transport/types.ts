/**
 * The seam between mcpwatch and its message log. Small on purpose: Kafka (kafkajs) and the embedded in-process
 * log implement it, and another Kafka client is one more file that passes `test/support/transport-contract.ts`.
 */

export type Headers = Record<string, string>;

/**
 * The largest record every transport takes: a Kafka send goes out in requests of at most 900 KiB, under the
 * broker's default `message.max.bytes`, with room for the key and headers. Larger values are the caller's to refuse.
 */
export const MAX_RECORD_BYTES = 896 * 1024;

export interface OutgoingRecord {
  /** Records with one key keep their order: they land on one partition. */
  key: string | null;
  value: Buffer | string;
  headers?: Headers;
  /**
   * Explicit partition, overriding the key's: the detectors write a partition's state checkpoint to the state
   * topic's partition of the same number, so restoring one partition reads one partition.
   */
  partition?: number;
}

export interface IncomingRecord {
  topic: string;
  partition: number;
  /** Decimal string: Kafka offsets are 64-bit. */
  offset: string;
  key: string | null;
  value: Buffer;
  headers: Headers;
  /** Milliseconds since the epoch, as the log stamped it. */
  timestamp: number;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface PartitionOffset extends TopicPartition {
  /** The next offset to read (last processed + 1), as Kafka commits it. */
  offset: string;
}

export interface TopicSpec {
  topic: string;
  partitions: number;
  /** `compact` for state topics; `delete` (time/size retention) otherwise. */
  cleanupPolicy?: 'compact' | 'delete';
}

export interface ProducerOptions {
  /**
   * Makes every send all or nothing, whatever its size and however many partitions it spans (for Kafka, one
   * transaction per send; readers see only committed sends). The id names this writer across its restarts: a
   * producer opened with an id fences any earlier one holding it, which then fails with `TRANSPORT_FAILED`.
   * Two live producers must never share an id.
   */
  transactionalId?: string;
}

export interface Producer {
  /**
   * Resolves once every record is acknowledged by the log (all in-sync replicas for Kafka); rejects otherwise.
   * Without `transactionalId`, a send larger than one Kafka request that fails may be partly appended.
   */
  send(topic: string, records: readonly OutgoingRecord[]): Promise<void>;
  close(): Promise<void>;
}

export interface RecordBatch {
  topic: string;
  partition: number;
  /** In offset order; never empty. */
  records: IncomingRecord[];
}

export interface ConsumerHandlers {
  /**
   * Called for one partition's records at a time, never concurrently for the same partition. Nothing is
   * committed implicitly: a batch whose offsets are not committed is delivered again after a restart or
   * rebalance. A rejection stops the consumer (`run` rejects with it).
   */
  onBatch(batch: RecordBatch): Promise<void>;
  /** Before the first batch of newly assigned partitions (restore state here). */
  onAssigned?(partitions: TopicPartition[]): Promise<void>;
  /** Before partitions are taken away (flush and commit here). */
  onRevoked?(partitions: TopicPartition[]): Promise<void>;
}

export interface ConsumerOptions {
  groupId: string;
  topics: string[];
  /** Where a group with no committed offset starts. Default: earliest. */
  from?: 'earliest' | 'latest';
}

export interface Consumer {
  /** Joins the group and delivers batches until `close()`; resolves then. */
  run(handlers: ConsumerHandlers): Promise<void>;
  commit(offsets: readonly PartitionOffset[]): Promise<void>;
  pause(partitions: readonly TopicPartition[]): void;
  resume(partitions: readonly TopicPartition[]): void;
  /** Leaves the group without committing anything further. */
  close(): Promise<void>;
}

export interface Transport {
  readonly kind: 'kafka' | 'embedded';
  ensureTopics(topics: readonly TopicSpec[]): Promise<void>;
  producer(options?: ProducerOptions): Promise<Producer>;
  consumer(options: ConsumerOptions): Promise<Consumer>;
  /**
   * Every committed record of one partition from the start to its current end, outside any group (state restore).
   * For compacted topics, the latest record per key is what matters; earlier ones may still be present.
   */
  readPartition(topic: string, partition: number): AsyncIterable<IncomingRecord>;
  /** Partition count of a topic (for keying and state restore). */
  partitionCount(topic: string): Promise<number>;
  close(): Promise<void>;
}
