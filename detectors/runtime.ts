/**
 * The detectors as a service: a consumer group on the events topic and the repartition topics of the scopes
 * the enabled rules declare (`scopes.ts`), running one `DetectionEngine` per scope and assigned partition
 * (`partition-runner.ts`). Per batch (`batch-processor.ts`), in this order:
 *
 *   1. parse each record (invalid ones are dead-lettered and counted), run it through the engines whose key
 *      lands on this partition and re-key it for the others → alerts, re-keyed events;
 *   2. deliver the alerts to every sink, and an events-topic batch's valid events to the sinks that carry audit
 *      events, and wait until all confirm (`delivery.ts`, retried by the one policy);
 *   3. send the re-keyed events to their repartition topics;
 *   4. checkpoint the engines' changes and the batch's end position to the compacted state topic, in one send
 *      of the state producer, which is atomic (a Kafka transaction): whole or not at all, however large;
 *   5. commit the offsets.
 *
 * A crash between any two steps replays the batch: its alerts get the same deterministic ids (sinks see a
 * repeat, never a loss), records before a restored position are skipped, and re-keyed copies sent twice are
 * recognised by their origin, so rule state is never fed one event twice. Between batches, partitions idle
 * for `engine.idlePartitionMs` advance to the newest event time this instance has seen, so timers and eviction
 * do not wait for traffic that may never come.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { McpwatchError } from '../contracts/errors.ts';
import { TOPICS } from '../transport/topics.ts';
import type { Consumer, Producer, Transport } from '../transport/types.ts';
import { BatchProcessor } from './batch-processor.ts';
import type { ClassifierStage } from './classifier/stage.ts';
import type { DetectorsConfig } from './config.ts';
import { AlertDelivery } from './delivery.ts';
import { DetectorMetrics } from './metrics.ts';
import { startOpsServer, type OpsServer } from './ops-server.ts';
import type { ScopeRoute } from './partition-runner.ts';
import { REPARTITION_TOPIC_PREFIX, repartitionTopicOf, rulesByScope, scopePartitions } from './scopes.ts';
import type { AlertSink } from './sinks/types.ts';

export interface DetectorTopics {
  events: string;
  detectorState: string;
  eventsDeadLetter: string;
  /** Repartition topics are `<prefix>.<scope>.v1`; default `mcpwatch.repartition`, `<events>.repartition` for another events topic. */
  repartitionPrefix: string;
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
  /** Ceiling of the first wait before another delivery attempt (ms), doubled after each failure, jittered. */
  deliveryBackoffMs?: number;
  /** Also export Node.js process metrics (off when several runtimes share a process). */
  processMetrics?: boolean;
  /** Where the classifier's key variable is read; `process.env` by default. */
  env?: NodeJS.ProcessEnv;
  /**
   * Names this instance within its group, stable across its restarts (a StatefulSet pod name): its state
   * producer's transactional id is `<groupId>.state.<instanceId>`, so a restarted instance fences its former
   * self. Two live instances of a group must never share one. Default: a new id per start (no fencing then).
   */
  instanceId?: string;
}

export interface DetectorsRuntime {
  readonly metrics: DetectorMetrics;
  /** The classifier stage, when `config.classifier` is set. */
  readonly classifier: ClassifierStage | undefined;
  /** Events partitions owned and restored, sorted. */
  assignedPartitions(): number[];
  /** The ops server's address when `config.ops.port` is set. */
  readonly opsAddress: string | undefined;
  /** Whether the consumer is running: false once it stopped or failed (health is red then). */
  running(): boolean;
  /** Settles when the consumer stops: resolves after `close()`, rejects with the error that stopped it. */
  readonly done: Promise<void>;
  /** Stops consuming, then closes sinks, producer and ops server. Idempotent. */
  close(): Promise<void>;
}

const DEFAULT_EVENT_PARTITIONS = 8;

export async function startDetectors(options: StartDetectorsOptions): Promise<DetectorsRuntime> {
  const { transport, config, sinks } = options;
  const log = options.logger ?? pino({ name: 'mcpwatch.detectors' }, pino.destination(2));
  const topics: DetectorTopics = {
    events: options.topics?.events ?? TOPICS.events,
    detectorState: options.topics?.detectorState ?? TOPICS.detectorState,
    eventsDeadLetter: options.topics?.eventsDeadLetter ?? TOPICS.eventsDeadLetter,
    // Repartition topics belong to their events topic: another events topic gets its own by default.
    repartitionPrefix:
      options.topics?.repartitionPrefix ??
      (options.topics?.events === undefined || options.topics.events === TOPICS.events
        ? REPARTITION_TOPIC_PREFIX
        : `${options.topics.events}.repartition`),
  };
  const routes: ScopeRoute[] = [...rulesByScope(config.rules)].map(([scope, rules]) => ({
    scope,
    rules,
    topic: repartitionTopicOf(topics.repartitionPrefix, scope),
  }));
  // The state and held-events gauges read the engines once they exist.
  let processor: BatchProcessor | undefined = undefined;
  const metrics = new DetectorMetrics(
    { stateSize: () => processor?.stateSize() ?? {}, heldEvents: () => processor?.heldEvents() ?? {} },
    { processMetrics: options.processMetrics ?? false },
  );
  const delivery = new AlertDelivery(sinks, metrics, log, {
    attempts: options.deliveryAttempts ?? 6,
    baseDelayMs: options.deliveryBackoffMs ?? 500,
    maxDelayMs: 30_000,
  });

  // Loaded only when configured; a classifier without its key fails here, before anything is started.
  const classifierModule = config.classifier === undefined ? undefined : await import('./classifier/stage.ts');
  const classifierBackend =
    config.classifier === undefined
      ? undefined
      : classifierModule!.createClassifierBackend(config.classifier, options.env);

  const eventPartitions = await preparedTopics(transport, topics, routes, options.eventPartitions, log);
  const producer: Producer = await transport.producer();
  const stateProducer: Producer = await transport.producer({
    transactionalId: `${config.groupId}.state.${options.instanceId ?? randomUUID()}`,
  });
  const consumer: Consumer = await transport.consumer({
    groupId: config.groupId,
    topics: [topics.events, ...routes.map((route) => route.topic)],
    from: options.from ?? 'earliest',
  });
  // Beside the engines, never in their path: its own consumer group, its verdicts back into the events topic.
  const classifier =
    config.classifier === undefined
      ? undefined
      : await classifierModule!.startClassifierStage({
          transport,
          config: config.classifier,
          groupId: `${config.groupId}.classifier`,
          eventsTopic: topics.events,
          registry: metrics.registry,
          logger: log.child({ part: 'classifier' }),
          backend: classifierBackend!,
        });

  const batches = new BatchProcessor({
    transport,
    topics,
    routes,
    eventPartitions,
    config,
    producer,
    stateProducer,
    consumer,
    delivery,
    metrics,
    log,
  });
  processor = batches;

  let ready = false;
  let stopped = false;
  metrics.running.set(1);
  const done = consumer
    .run({
      onAssigned: async (partitions) => {
        await batches.exclusively(() => batches.assign(partitions));
        ready = true;
      },
      onRevoked: (partitions) => batches.exclusively(() => batches.revoke(partitions)),
      onBatch: (batch) => batches.exclusively(() => batches.processBatch(batch)),
    })
    .catch((error: unknown) => {
      log.error({ err: error }, 'Detectors stopped: consumer failed.');
      throw error;
    })
    .finally(() => {
      stopped = true;
      metrics.running.set(0);
      clearInterval(idleTimer);
    });
  // `done` is for the caller; this keeps an unobserved rejection from killing the process before they look.
  done.catch(() => undefined);

  let failedTick = false;
  const idleTimer = setInterval(
    () => {
      if (stopped || failedTick) return;
      batches
        .exclusively(() => batches.advanceIdle())
        .catch((error: unknown) => {
          // The engines moved: what the tick made is kept and goes out first with the next batch or tick.
          failedTick = true;
          log.warn(
            { err: error },
            'Idle partitions advanced, but delivery or checkpoint failed; sent again with the next batch or tick.',
          );
          setTimeout(() => (failedTick = false), config.engine.idlePartitionMs).unref();
        });
    },
    Math.max(100, Math.floor(config.engine.idlePartitionMs / 2)),
  );
  idleTimer.unref();

  let ops: OpsServer | undefined;
  if (config.ops.port !== undefined) {
    ops = await startOpsServer({
      host: config.ops.host,
      port: config.ops.port,
      registry: metrics.registry,
      live: () => !stopped,
      ready: async () => {
        if (stopped) return { ready: false, detail: 'The consumer stopped: detection is not running' };
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

  let closing: Promise<void> | undefined;
  return {
    metrics,
    classifier,
    assignedPartitions: () => batches.ownedEventPartitions(),
    opsAddress: ops?.address,
    running: () => !stopped,
    done,
    close() {
      closing ??= (async () => {
        clearInterval(idleTimer);
        await classifier?.close();
        await consumer.close();
        await done.catch(() => undefined);
        const results = await Promise.allSettled([
          ...sinks.map((sink) => sink.close()),
          producer.close(),
          stateProducer.close(),
        ]);
        await ops?.close();
        for (const result of results) {
          if (result.status === 'rejected') log.warn({ err: result.reason as unknown }, 'Close failed.');
        }
      })();
      return closing;
    },
  };
}

/**
 * Creates what is missing: the events topic (only when nobody did: the count is ours to choose then), the
 * state topic (compacted, one partition per events partition), the dead-letter topic and one repartition
 * topic per scope, co-partitioned with the events topic. Returns the events topic's partition count.
 */
async function preparedTopics(
  transport: Transport,
  topics: DetectorTopics,
  routes: readonly ScopeRoute[],
  eventPartitionsIfCreated: number | undefined,
  log: Logger,
): Promise<number> {
  // Through `then`, so a transport that throws instead of rejecting is caught as well.
  const eventPartitions = await Promise.resolve(topics.events)
    .then((topic) => transport.partitionCount(topic))
    .catch(async () => {
      await transport.ensureTopics([
        { topic: topics.events, partitions: eventPartitionsIfCreated ?? DEFAULT_EVENT_PARTITIONS },
      ]);
      return transport.partitionCount(topics.events);
    });
  await transport.ensureTopics([
    { topic: topics.detectorState, partitions: eventPartitions, cleanupPolicy: 'compact' },
    { topic: topics.eventsDeadLetter, partitions: 1 },
    ...routes.map((route) => ({ topic: route.topic, partitions: scopePartitions(route.scope, eventPartitions) })),
  ]);
  const statePartitions = await transport.partitionCount(topics.detectorState);
  if (statePartitions < eventPartitions) {
    throw new McpwatchError(
      'CONFIG_INVALID',
      `State topic ${topics.detectorState} has ${statePartitions} partitions, fewer than the ${eventPartitions} of ` +
        `${topics.events}: add partitions to it (its partition p holds the state of events partition p)`,
    );
  }
  for (const route of routes) {
    const expected = scopePartitions(route.scope, eventPartitions);
    const found = await transport.partitionCount(route.topic);
    if (found !== expected) {
      throw new McpwatchError(
        'CONFIG_INVALID',
        `Repartition topic ${route.topic} has ${found} partitions; it needs ${expected} (co-partitioned with ` +
          `${topics.events}): recreate it empty with ${expected}`,
      );
    }
  }
  log.debug({ eventPartitions, scopes: routes.map((route) => route.scope) }, 'Topics ready.');
  return eventPartitions;
}
