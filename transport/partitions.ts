import type { TopicPartition } from './types.ts';

/** `topic/partition`: unambiguous because Kafka topic names cannot contain `/`. */
export function partitionId({ topic, partition }: TopicPartition): string {
  return `${topic}/${partition}`;
}

/** Sorted by topic, then partition, so callbacks and logs list partitions in one order. */
export function sortPartitions(partitions: Iterable<TopicPartition>): TopicPartition[] {
  return [...partitions].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}

/** A map keyed by `partitionId` that remembers the partitions themselves. */
export class PartitionSet {
  readonly #byId = new Map<string, TopicPartition>();

  constructor(partitions: Iterable<TopicPartition> = []) {
    for (const partition of partitions) this.add(partition);
  }

  get size(): number {
    return this.#byId.size;
  }

  add(partition: TopicPartition): void {
    this.#byId.set(partitionId(partition), { topic: partition.topic, partition: partition.partition });
  }

  delete(partition: TopicPartition): void {
    this.#byId.delete(partitionId(partition));
  }

  has(partition: TopicPartition): boolean {
    return this.#byId.has(partitionId(partition));
  }

  clear(): void {
    this.#byId.clear();
  }

  /** Partitions in this set that are not in `other`, sorted. */
  minus(other: PartitionSet): TopicPartition[] {
    return sortPartitions([...this.#byId.values()].filter((partition) => !other.has(partition)));
  }

  toArray(): TopicPartition[] {
    return sortPartitions(this.#byId.values());
  }
}
