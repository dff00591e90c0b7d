import type { Consumer as KafkaConsumerClient, EachBatchPayload } from 'kafkajs';
import type { Logger } from 'pino';
import { McpwatchError } from '../../contracts/errors.ts';
import { PartitionSet } from '../partitions.ts';
import type { Consumer, ConsumerHandlers, ConsumerOptions, PartitionOffset, TopicPartition } from '../types.ts';
import { isRebalancing, transportError } from './errors.ts';
import { incomingRecord } from './records.ts';

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
export class KafkaConsumer implements Consumer {
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
