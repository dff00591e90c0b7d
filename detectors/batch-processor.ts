/**
 * What one detectors instance does with the partitions it owns (steps 1–5 of `runtime.ts`): one `ScopeRunner`
 * per scope and partition, restored from its checkpoints when assigned; each batch routed through them, its
 * alerts and audit events delivered, its re-keyed events sent, its checkpoint and positions sent together, its
 * offsets committed; idle engines advanced between batches.
 */
import type { Logger } from 'pino';
import type { Alert } from '../contracts/alert.ts';
import { isMcpwatchError } from '../contracts/errors.ts';
import { MAX_EVENT_VALUE_DEPTH, McpEventParser } from '../contracts/parse.ts';
import { deadLetter } from '../transport/dead-letter.ts';
import type { Consumer, OutgoingRecord, Producer, RecordBatch, TopicPartition, Transport } from '../transport/types.ts';
import { restoreCheckpoints } from './checkpoint.ts';
import { engineOptionsOf, type DetectorsConfig } from './config.ts';
import type { AlertDelivery } from './delivery.ts';
import type { DetectorMetrics } from './metrics.ts';
import {
  BatchWork,
  ScopeRunner,
  applyRekeyedBatch,
  routeEventsBatch,
  runnerId,
  type ScopeRoute,
} from './partition-runner.ts';
import { holdsForEventTime, scopePartitions } from './scopes.ts';
import type { KeyScope } from './types.ts';

/** Rounds of shedding the oldest state before a checkpoint that still does not fit is dropped. */
const SHED_ROUNDS = 6;

export interface BatchProcessorOptions {
  transport: Transport;
  topics: { events: string; detectorState: string; eventsDeadLetter: string };
  routes: readonly ScopeRoute[];
  eventPartitions: number;
  config: DetectorsConfig;
  producer: Producer;
  /** Atomic (transactional): a checkpoint and its positions are appended whole or not at all. */
  stateProducer: Producer;
  consumer: Consumer;
  delivery: AlertDelivery;
  metrics: DetectorMetrics;
  log: Logger;
}

export class BatchProcessor {
  readonly #runners = new Map<string, ScopeRunner>();
  readonly #owned = new Map<string, TopicPartition>();
  readonly #scopeOfTopic: Map<string, KeyScope>;
  /** Flattens as the collector does while decoding, and parses a tool definition seen before once. */
  readonly #parser = new McpEventParser(MAX_EVENT_VALUE_DEPTH);
  #serial: Promise<void> = Promise.resolve();
  /**
   * What an idle advance made but could not deliver or checkpoint: its engines moved on, so it would not be made
   * again. The next completion (batch or idle tick) sends it first. A failed batch needs none of this: the
   * consumer stops, and a restart restores the last checkpoint and reads the batch again.
   */
  #unsent: { alerts: Alert[]; checkpoint: OutgoingRecord[] } | undefined;

  constructor(private readonly options: BatchProcessorOptions) {
    this.#scopeOfTopic = new Map(options.routes.map((route) => [route.topic, route.scope]));
  }

  /** Batches and idle ticks run one at a time: both change engines and checkpoint them. */
  exclusively<T>(step: () => Promise<T>): Promise<T> {
    const next = this.#serial.then(step);
    this.#serial = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  /** Keys held in rule state, by rule, over every engine of this instance. */
  stateSize(): Record<string, number> {
    const total: Record<string, number> = {};
    for (const { engine } of this.#runners.values())
      for (const [rule, keys] of Object.entries(engine.stateSize())) total[rule] = (total[rule] ?? 0) + keys;
    return total;
  }

  /** Events held for event-time order, by scope, over every engine of this instance. */
  heldEvents(): Record<string, number> {
    const total: Record<string, number> = {};
    for (const runner of this.#runners.values()) total[runner.scope] = (total[runner.scope] ?? 0) + runner.held;
    return total;
  }

  /** Events partitions owned, sorted. */
  ownedEventPartitions(): number[] {
    return [...this.#owned.values()]
      .filter((tp) => tp.topic === this.options.topics.events)
      .map((tp) => tp.partition)
      .sort((a, b) => a - b);
  }

  async assign(partitions: readonly TopicPartition[]): Promise<void> {
    const { transport, topics, routes, eventPartitions, config, metrics, log } = this.options;
    for (const partition of partitions) this.#owned.set(`${partition.topic}/${partition.partition}`, partition);
    const fresh = new Map<string, ScopeRunner>();
    for (const { partition } of partitions) {
      for (const { scope } of routes) {
        const id = runnerId(scope, partition);
        if (partition >= scopePartitions(scope, eventPartitions) || this.#runners.has(id) || fresh.has(id)) continue;
        const holdMs = holdsForEventTime(scope, eventPartitions) ? config.engine.allowedLatenessMs : undefined;
        fresh.set(id, new ScopeRunner(scope, partition, this.#engineOptions(scope), holdMs));
      }
    }
    if (fresh.size === 0) return;
    const statePartitions = [...fresh.values()].map((runner) => (runner.scope === 'global' ? 0 : runner.partition));
    const restored = await restoreCheckpoints(transport, topics.detectorState, statePartitions, fresh, topics.events);
    for (const [id, runner] of fresh) {
      runner.counted = { ...runner.engine.counters };
      this.#runners.set(id, runner);
    }
    metrics.assignedPartitions.set(this.#owned.size);
    log.info(
      {
        partitions: [...new Set(partitions.filter((tp) => tp.topic === topics.events).map((tp) => tp.partition))],
        engines: [...fresh.keys()],
        stateRecords: restored.records,
        otherRecords: restored.foreignRecords,
      },
      'Partitions assigned; state restored.',
    );
  }

  revoke(partitions: readonly TopicPartition[]): Promise<void> {
    const { topics, metrics, log } = this.options;
    // Every batch is checkpointed and committed before onBatch resolves: nothing is left to flush.
    for (const partition of partitions) this.#owned.delete(`${partition.topic}/${partition.partition}`);
    const stillOwned = new Set([...this.#owned.values()].map(({ partition }) => partition));
    for (const [id, runner] of this.#runners) if (!stillOwned.has(runner.partition)) this.#runners.delete(id);
    metrics.assignedPartitions.set(this.#owned.size);
    log.info(
      { partitions: partitions.filter((tp) => tp.topic === topics.events).map((tp) => tp.partition) },
      'Partitions revoked.',
    );
    return Promise.resolve();
  }

  async processBatch(batch: RecordBatch): Promise<void> {
    const { producer, consumer, topics, routes, eventPartitions, metrics, log } = this.options;
    const started = process.hrtime.bigint();
    const scope = this.#scopeOfTopic.get(batch.topic);
    // The engines this batch feeds: all of this partition's for the events topic, its scope's for a repartition topic.
    const needed = routes.filter(
      (route) =>
        (scope === undefined || route.scope === scope) &&
        batch.partition < scopePartitions(route.scope, eventPartitions),
    );
    if (needed.some((route) => !this.#runners.has(runnerId(route.scope, batch.partition)))) {
      // The transport promises onAssigned first; restoring here keeps a batch from ever meeting empty state.
      await this.assign([{ topic: batch.topic, partition: batch.partition }]);
    }
    const ownRunners = new Map(
      needed.map((route) => [route.scope, this.#runners.get(runnerId(route.scope, batch.partition))!] as const),
    );
    const work = new BatchWork();
    let positions: OutgoingRecord[];
    const last = batch.records.at(-1)!;
    const nextOffset = (BigInt(last.offset) + 1n).toString();
    if (scope === undefined) {
      routeEventsBatch(batch.records, batch.partition, eventPartitions, routes, ownRunners, work, this.#parser);
      positions = [...ownRunners.values()].map((runner) => runner.position(batch.topic, nextOffset));
    } else {
      const runner = ownRunners.get(scope)!;
      applyRekeyedBatch(batch.records, runner, work, this.#parser);
      positions = [runner.position(batch.topic, nextOffset)];
    }
    for (const { record, reason } of work.invalid) {
      await deadLetter(producer, topics.eventsDeadLetter, record, 'detectors', reason);
      metrics.deadLetters.inc();
      log.warn(
        { topic: record.topic, partition: record.partition, offset: record.offset, reason },
        'Record is not a valid event; dead-lettered.',
      );
    }
    await this.#complete(work, positions);
    await consumer.commit([{ topic: batch.topic, partition: batch.partition, offset: nextOffset }]);

    metrics.consumerLag.set({ partition: String(batch.partition) }, Math.max(0, (Date.now() - last.timestamp) / 1000));
    metrics.batchSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    log.debug(
      {
        topic: batch.topic,
        partition: batch.partition,
        committed: nextOffset,
        records: batch.records.length,
        alerts: work.alerts.length,
      },
      scope === undefined ? 'Batch committed.' : 'Re-keyed batch committed.',
    );
  }

  /**
   * Engines idle for `idlePartitionMs` run what they hold and move to the newest event time read here (Flink's
   * idle sources).
   */
  async advanceIdle(): Promise<void> {
    const { config, metrics, log } = this.options;
    const now = Date.now();
    let newest = Number.NEGATIVE_INFINITY;
    for (const runner of this.#runners.values()) newest = Math.max(newest, runner.eventTime);
    if (!Number.isFinite(newest)) return;
    const work = new BatchWork();
    for (const runner of this.#runners.values()) {
      if (now - runner.lastActive < config.engine.idlePartitionMs) continue;
      if (runner.held === 0 && runner.engine.eventTime >= newest) continue;
      work.alerts.push(...runner.advanceTo(newest));
      work.touched.add(runner);
      metrics.idleAdvances.inc();
    }
    if (work.touched.size === 0 && this.#unsent === undefined) return;
    await this.#complete(work, [], { keepUnsent: true });
    log.debug({ engines: [...work.touched].map((runner) => runner.id), to: newest }, 'Idle engines advanced.');
  }

  #engineOptions(scope: KeyScope) {
    return {
      ...engineOptionsOf(this.options.config),
      rules: this.options.routes.find((route) => route.scope === scope)!.rules,
    };
  }

  /**
   * Delivery, re-keyed events, then checkpoint and positions together, of one batch's work (steps 2–4).
   * `keepUnsent`: on failure, keep the alerts and checkpoint records taken for the next completion.
   */
  async #complete(work: BatchWork, positions: OutgoingRecord[], { keepUnsent = false } = {}): Promise<void> {
    const carried = this.#unsent;
    this.#unsent = undefined;
    const alerts = [...(carried?.alerts ?? []), ...work.alerts];
    let checkpoint = carried?.checkpoint ?? [];
    try {
      await this.#send(work, alerts, () => {
        // Later records of a key follow earlier ones in one send: compaction keeps the newest.
        checkpoint = [...checkpoint, ...[...work.touched].flatMap((runner) => runner.takeCheckpoint())];
        return [...checkpoint, ...positions];
      });
    } catch (error) {
      if (keepUnsent) this.#unsent = { alerts, checkpoint };
      throw error;
    }
    for (const alert of alerts) this.options.metrics.alerts.inc({ rule: alert.ruleId });
  }

  async #send(work: BatchWork, alerts: Alert[], checkpoint: () => OutgoingRecord[]): Promise<void> {
    const { producer, delivery, metrics, log } = this.options;
    for (const runner of work.touched) {
      for (const ruleError of runner.engine.takeRuleErrors()) {
        log.error(
          { err: ruleError.error, ruleId: ruleError.ruleId, eventId: ruleError.eventId },
          'Rule failed; event skipped by it.',
        );
      }
    }
    await delivery.deliver(alerts);
    await delivery.deliverEvents(work.events);
    for (const [topic, records] of work.forwards) {
      await producer.send(topic, records);
      metrics.repartitioned.inc({ scope: this.#scopeOfTopic.get(topic)! }, records.length);
    }
    await this.#checkpoint(checkpoint());
    for (const runner of work.touched) {
      metrics.addEngineDelta(runner.counted, runner.engine.counters);
      runner.counted = { ...runner.engine.counters };
    }
    metrics.replayedEventsSkipped.inc(work.skipped);
    metrics.repartitionDuplicates.inc(work.duplicates);
  }

  /** Sends checkpoint records; a state log that is full sheds its oldest keys and takes the send again. */
  async #checkpoint(records: OutgoingRecord[]): Promise<void> {
    if (records.length === 0) return;
    const { stateProducer, topics, metrics, log } = this.options;
    let pending = records;
    for (let round = 1; ; round += 1) {
      try {
        await stateProducer.send(topics.detectorState, pending);
        return;
      } catch (error) {
        if (!isMcpwatchError(error) || error.code !== 'LIMIT_EXCEEDED') throw error;
        if (round > SHED_ROUNDS) {
          // Not even shed state fits (the log holds something else): detection goes on, unsaved until it fits.
          metrics.checkpointsDropped.inc();
          log.error({ err: error }, 'State log full after shedding; checkpoint dropped, detection goes on.');
          return;
        }
        const byKey = new Map(pending.map((record) => [record.key, record]));
        let shed = 0;
        for (const runner of this.#runners.values()) {
          shed += runner.engine.shedOldest(Math.min(1, 0.25 * 2 ** (round - 1)));
          for (const record of runner.takeCheckpoint()) byKey.set(record.key, record);
        }
        pending = [...byKey.values()];
        log.warn({ err: error, shedKeys: shed, round }, 'State log full; oldest state shed, checkpoint sent again.');
      }
    }
  }
}
