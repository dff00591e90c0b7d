/**
 * The detectors as a service: a consumer group on the events topic running one `DetectionEngine` per assigned
 * partition. Per batch, in this order:
 *
 *   1. parse each record (invalid ones are dead-lettered and counted) and run the rules → alerts;
 *   2. deliver the alerts to every sink and wait until all confirm (retrying, then failing the consumer);
 *   3. checkpoint the engine's changes to the compacted state topic, then the batch's end position;
 *   4. commit the offsets.
 *
 * A crash between any two steps replays the batch: its alerts get the same deterministic ids (sinks see a
 * repeat, never a loss), and records before the restored `position` are skipped, so rule state is not fed the
 * same event twice. State is per events partition: a rule keyed by something other than the event's partition
 * key (session, else principal, else server) sees only the events of that key on one partition.
 */
import type { Logger } from 'pino';
import { pino } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Alert } from '../contracts/alert.ts';
import type { McpEvent } from '../contracts/mcp-event.ts';
import { describeIssues, parseMcpEvent } from '../contracts/parse.ts';
import { McpwatchError, isMcpwatchError } from '../contracts/errors.ts';
import { deadLetter } from '../transport/dead-letter.ts';
import { TOPICS } from '../transport/topics.ts';
import type { Consumer, IncomingRecord, Producer, RecordBatch, TopicPartition, Transport } from '../transport/types.ts';
import { changeToRecord, positionRecord, restoreEngines } from './checkpoint.ts';
import { engineOptionsOf, type DetectorsConfig } from './config.ts';
import { DetectionEngine, type EngineCounters } from './engine.ts';
import { DetectorMetrics } from './metrics.ts';
import { startOpsServer, type OpsServer } from './ops-server.ts';
import type { AlertSink } from './sinks/types.ts';

export interface DetectorTopics {
  events: string;
  detectorState: string;
  eventsDeadLetter: string;
}

export interface StartDetectorsOptions {
  transport: Transport;
  config: DetectorsConfig;
  sinks: readonly AlertSink[];
  logger?: Logger;
  /** Defaults to the `TOPICS` names; tests pass unique ones. */
  topics?: Partial<DetectorTopics>;
  /** Where a group with no committed offset starts. Default: earliest. */
  from?: 'earliest' | 'latest';
  /** Partitions of the events topic when the detectors have to create it. */
  eventPartitions?: number;
  /** Attempts to deliver one batch's alerts before the consumer stops (uncommitted, so nothing is lost). */
  deliveryAttempts?: number;
  /** Wait before the second delivery attempt, doubled after each failure (ms). */
  deliveryBackoffMs?: number;
  /** Also export Node.js process metrics (off when several runtimes share a process). */
  processMetrics?: boolean;
}

export interface DetectorsRuntime {
  readonly metrics: DetectorMetrics;
  /** Partitions owned and restored, sorted. */
  assignedPartitions(): number[];
  /** The ops server's address when `config.ops.port` is set. */
  readonly opsAddress: string | undefined;
  /** Settles when the consumer stops: resolves after `close()`, rejects with the error that stopped it. */
  readonly done: Promise<void>;
  /** Stops consuming, then closes sinks, producer and ops server. Idempotent. */
  close(): Promise<void>;
}

interface PartitionRunner {
  engine: DetectionEngine;
  /** Records before this offset are already in the restored state (their alerts were delivered). */
  restoredPosition: bigint;
  /** Engine counters as last added to the metrics. */
  counted: EngineCounters;
}

const DEFAULT_EVENT_PARTITIONS = 8;

export async function startDetectors(options: StartDetectorsOptions): Promise<DetectorsRuntime> {
  const { transport, config, sinks } = options;
  const log = options.logger ?? pino({ name: 'mcpwatch.detectors' }, pino.destination(2));
  const topics: DetectorTopics = {
    events: options.topics?.events ?? TOPICS.events,
    detectorState: options.topics?.detectorState ?? TOPICS.detectorState,
    eventsDeadLetter: options.topics?.eventsDeadLetter ?? TOPICS.eventsDeadLetter,
  };
  const deliveryAttempts = options.deliveryAttempts ?? 6;
  const deliveryBackoffMs = options.deliveryBackoffMs ?? 500;
  const runners = new Map<number, PartitionRunner>();
  const metrics = new DetectorMetrics(
    {
      stateSize() {
        const total: Record<string, number> = {};
        for (const { engine } of runners.values())
          for (const [rule, keys] of Object.entries(engine.stateSize())) total[rule] = (total[rule] ?? 0) + keys;
        return total;
      },
    },
    { processMetrics: options.processMetrics ?? false },
  );

  // Through `then`, so a transport that throws instead of rejecting is caught as well.
  const eventPartitions = await Promise.resolve(topics.events)
    .then((topic) => transport.partitionCount(topic))
    .catch(async () => {
      // Usually the collector (or the operator) created it; the count is only ours to choose when nobody did.
      await transport.ensureTopics([
        { topic: topics.events, partitions: options.eventPartitions ?? DEFAULT_EVENT_PARTITIONS },
      ]);
      return transport.partitionCount(topics.events);
    });
  await transport.ensureTopics([
    { topic: topics.detectorState, partitions: eventPartitions, cleanupPolicy: 'compact' },
    { topic: topics.eventsDeadLetter, partitions: 1 },
  ]);
  const statePartitions = await transport.partitionCount(topics.detectorState);
  if (statePartitions < eventPartitions) {
    throw new McpwatchError(
      'CONFIG_INVALID',
      `State topic ${topics.detectorState} has ${statePartitions} partitions, fewer than the ${eventPartitions} of ` +
        `${topics.events}: add partitions to it (its partition p holds the state of events partition p)`,
    );
  }

  const producer: Producer = await transport.producer();
  const consumer: Consumer = await transport.consumer({
    groupId: config.groupId,
    topics: [topics.events],
    from: options.from ?? 'earliest',
  });

  async function assign(partitions: TopicPartition[]): Promise<void> {
    const fresh = new Map<number, DetectionEngine>();
    for (const { partition } of partitions) fresh.set(partition, new DetectionEngine(engineOptionsOf(config)));
    const restored = await restoreEngines(transport, topics.detectorState, fresh);
    for (const [partition, engine] of fresh) {
      runners.set(partition, {
        engine,
        restoredPosition: restored.positions.get(partition) ?? 0n,
        counted: { ...engine.counters },
      });
    }
    metrics.assignedPartitions.set(runners.size);
    log.info(
      {
        partitions: [...fresh.keys()],
        stateRecords: restored.records,
        positions: Object.fromEntries([...restored.positions].map(([p, offset]) => [p, offset.toString()])),
      },
      'Partitions assigned; state restored.',
    );
  }

  function revoke(partitions: TopicPartition[]): Promise<void> {
    // Every batch is checkpointed and committed before onBatch resolves: nothing is left to flush.
    for (const { partition } of partitions) runners.delete(partition);
    metrics.assignedPartitions.set(runners.size);
    log.info({ partitions: partitions.map(({ partition }) => partition) }, 'Partitions revoked.');
    return Promise.resolve();
  }

  async function deliver(alerts: Alert[]): Promise<void> {
    if (alerts.length === 0) return;
    let pending = [...sinks];
    for (let attempt = 1; ; attempt += 1) {
      const results = await Promise.allSettled(pending.map((sink) => sink.deliver(alerts)));
      const failed = pending.filter((_, index) => results[index]!.status === 'rejected');
      if (failed.length === 0) return;
      const errors = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
      for (const sink of failed) metrics.deliveryFailures.inc({ sink: sink.name });
      const retriable = errors.every((error) => !isMcpwatchError(error) || error.retriable);
      log.warn(
        { err: errors[0], sinks: failed.map((sink) => sink.name), attempt, alerts: alerts.length },
        'Alert delivery failed; offsets stay uncommitted.',
      );
      if (!retriable || attempt >= deliveryAttempts) {
        throw new McpwatchError(
          'DELIVERY_FAILED',
          `Sinks ${failed.map((sink) => sink.name).join(', ')} did not confirm ${alerts.length} alerts`,
          { cause: errors[0], retriable },
        );
      }
      pending = failed; // a sink that confirmed is not asked again for this batch
      await sleep(deliveryBackoffMs * 2 ** (attempt - 1));
    }
  }

  async function processBatch(batch: RecordBatch): Promise<void> {
    const started = process.hrtime.bigint();
    let runner = runners.get(batch.partition);
    if (runner === undefined) {
      // The transport promises onAssigned first; restoring here keeps a batch from ever meeting empty state.
      await assign([{ topic: batch.topic, partition: batch.partition }]);
      runner = runners.get(batch.partition)!;
    }
    const { engine } = runner;
    const alerts: Alert[] = [];
    let last: IncomingRecord | undefined;
    for (const record of batch.records) {
      last = record;
      if (BigInt(record.offset) < runner.restoredPosition) {
        metrics.replayedEventsSkipped.inc();
        continue;
      }
      const event = parseRecord(record);
      if (!event.ok) {
        await deadLetter(producer, topics.eventsDeadLetter, record, 'detectors', event.reason);
        metrics.deadLetters.inc();
        log.warn(
          { partition: record.partition, offset: record.offset, reason: event.reason },
          'Record is not a valid event; dead-lettered.',
        );
        continue;
      }
      alerts.push(...engine.process(event.value));
    }
    if (last === undefined) return;
    for (const ruleError of engine.takeRuleErrors()) {
      log.error(
        { err: ruleError.error, ruleId: ruleError.ruleId, eventId: ruleError.eventId },
        'Rule failed; event skipped by it.',
      );
    }

    await deliver(alerts);
    const nextOffset = (BigInt(last.offset) + 1n).toString();
    const changes = engine.takeChanges();
    if (changes.length > 0) {
      await producer.send(
        topics.detectorState,
        changes.map((change) => changeToRecord(batch.partition, change)),
      );
    }
    await producer.send(topics.detectorState, [positionRecord(batch.partition, nextOffset)]);
    await consumer.commit([{ topic: batch.topic, partition: batch.partition, offset: nextOffset }]);

    for (const alert of alerts) metrics.alerts.inc({ rule: alert.ruleId });
    metrics.addEngineDelta(runner.counted, engine.counters);
    runner.counted = { ...engine.counters };
    metrics.consumerLag.set({ partition: String(batch.partition) }, Math.max(0, (Date.now() - last.timestamp) / 1000));
    metrics.batchSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    log.debug(
      { partition: batch.partition, committed: nextOffset, records: batch.records.length, alerts: alerts.length },
      'Batch committed.',
    );
  }

  let ready = false;
  const done = consumer
    .run({
      onAssigned: async (partitions) => {
        await assign(partitions);
        ready = true;
      },
      onRevoked: revoke,
      onBatch: processBatch,
    })
    .catch((error: unknown) => {
      log.error({ err: error }, 'Detectors stopped: consumer failed.');
      throw error;
    });
  // `done` is for the caller; this keeps an unobserved rejection from killing the process before they look.
  done.catch(() => undefined);

  let ops: OpsServer | undefined;
  if (config.ops.port !== undefined) {
    ops = await startOpsServer({
      host: config.ops.host,
      port: config.ops.port,
      registry: metrics.registry,
      live: () => !stopped,
      ready: async () => {
        if (!ready) return { ready: false, detail: 'No partitions assigned and restored yet' };
        const health = await Promise.all(sinks.map(async (sink) => ({ sink: sink.name, ...(await sink.health()) })));
        const unhealthy = health.filter((entry) => !entry.healthy);
        return unhealthy.length === 0
          ? { ready: true }
          : {
              ready: false,
              detail: unhealthy.map((entry) => `${entry.sink}: ${entry.detail ?? 'unhealthy'}`).join('; '),
            };
      },
    });
    log.info({ address: ops.address }, 'Ops endpoints listening.');
  }

  let stopped = false;
  let closing: Promise<void> | undefined;
  done.then(
    () => (stopped = true),
    () => (stopped = true),
  );

  return {
    metrics,
    assignedPartitions: () => [...runners.keys()].sort((a, b) => a - b),
    opsAddress: ops?.address,
    done,
    close() {
      closing ??= (async () => {
        await consumer.close();
        await done.catch(() => undefined);
        stopped = true;
        const results = await Promise.allSettled([...sinks.map((sink) => sink.close()), producer.close()]);
        await ops?.close();
        for (const result of results) {
          if (result.status === 'rejected') log.warn({ err: result.reason as unknown }, 'Close failed.');
        }
      })();
      return closing;
    },
  };
}

type ParsedRecord = { ok: true; value: McpEvent } | { ok: false; reason: string };

function parseRecord(record: IncomingRecord): ParsedRecord {
  let json: unknown;
  try {
    json = JSON.parse(record.value.toString('utf8'));
  } catch (error) {
    return { ok: false, reason: `(root): not JSON (${error instanceof Error ? error.message : String(error)})` };
  }
  const parsed = parseMcpEvent(json);
  return parsed.ok ? parsed : { ok: false, reason: describeIssues(parsed.issues) };
}
