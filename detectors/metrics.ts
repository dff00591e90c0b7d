/**
 * Prometheus metrics of the detectors, on a registry of their own (several runtimes in one process, as in tests
 * and `mcpwatch serve`, never collide). Events per second is `rate(mcpwatch_detector_events_total[1m])`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EngineCounters } from './engine.ts';

export interface StateSizeSource {
  /** Keys held per rule id, summed over the partitions this instance owns. */
  stateSize(): Record<string, number>;
  /** Events read and held for event-time order, not yet run, per scope. */
  heldEvents(): Record<string, number>;
}

export class DetectorMetrics {
  readonly registry = new Registry();
  readonly events = new Counter({
    name: 'mcpwatch_detector_events_total',
    help: 'Events run through the rules.',
    registers: [this.registry],
  });
  readonly lateEvents = new Counter({
    name: 'mcpwatch_detector_late_events_total',
    help: 'Events older than the watermark when they arrived (still processed).',
    registers: [this.registry],
  });
  readonly replayedEventsSkipped = new Counter({
    name: 'mcpwatch_detector_replayed_events_skipped_total',
    help: 'Redelivered events skipped because the restored checkpoint already includes them.',
    registers: [this.registry],
  });
  readonly alerts = new Counter({
    name: 'mcpwatch_detector_alerts_total',
    help: 'Alerts delivered to every sink, by rule.',
    labelNames: ['rule'] as const,
    registers: [this.registry],
  });
  readonly findingsSuppressed = new Counter({
    name: 'mcpwatch_detector_findings_suppressed_total',
    help: 'Findings folded into an earlier alert by suppression or deduplication.',
    registers: [this.registry],
  });
  readonly deadLetters = new Counter({
    name: 'mcpwatch_detector_dead_letters_total',
    help: 'Records that were not valid events, dead-lettered.',
    registers: [this.registry],
  });
  readonly ruleErrors = new Counter({
    name: 'mcpwatch_detector_rule_errors_total',
    help: 'Exceptions thrown by rules (the event went on to the other rules).',
    registers: [this.registry],
  });
  readonly evictions = new Counter({
    name: 'mcpwatch_detector_evictions_total',
    help: 'Keys forgotten before their rule forgot them, by reason (idle TTL, the per-rule cap, or shed because the state log was full).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly deliveryFailures = new Counter({
    name: 'mcpwatch_detector_delivery_failures_total',
    help: 'Failed deliveries of alerts or audit events (retried; offsets stay uncommitted until every sink confirms).',
    labelNames: ['sink'] as const,
    registers: [this.registry],
  });
  readonly consumerLag = new Gauge({
    name: 'mcpwatch_detector_consumer_lag_seconds',
    help: 'Wall time minus the log timestamp of the last record processed, by partition.',
    labelNames: ['partition'] as const,
    registers: [this.registry],
  });
  readonly batchSeconds = new Histogram({
    name: 'mcpwatch_detector_batch_seconds',
    help: 'From receiving a batch to committing it (rules, delivery, checkpoint, commit).',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly repartitioned = new Counter({
    name: 'mcpwatch_detector_repartitioned_total',
    help: 'Events re-keyed into a repartition topic for the rules of a scope, by scope.',
    labelNames: ['scope'] as const,
    registers: [this.registry],
  });
  readonly repartitionDuplicates = new Counter({
    name: 'mcpwatch_detector_repartition_duplicates_total',
    help: 'Repartitioned events skipped because the state already includes them (re-sent after a crash).',
    registers: [this.registry],
  });
  readonly checkpointsDropped = new Counter({
    name: 'mcpwatch_detector_checkpoints_dropped_total',
    help: 'Checkpoints the state log refused even after shedding: detection went on, that state unsaved.',
    registers: [this.registry],
  });
  readonly idleAdvances = new Counter({
    name: 'mcpwatch_detector_idle_advances_total',
    help: 'Times an idle partition had its event time moved to the newest this instance has seen.',
    registers: [this.registry],
  });
  readonly running = new Gauge({
    name: 'mcpwatch_detector_running',
    help: '1 while the consumer runs; 0 once it stopped or failed (detection is not running).',
    registers: [this.registry],
  });
  readonly assignedPartitions = new Gauge({
    name: 'mcpwatch_detector_assigned_partitions',
    help: 'Partitions (of the events and repartition topics) this instance owns.',
    registers: [this.registry],
  });

  constructor(state: StateSizeSource, options: { processMetrics?: boolean } = {}) {
    new Gauge({
      name: 'mcpwatch_detector_state_keys',
      help: 'Keys held in rule state, by rule.',
      labelNames: ['rule'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [rule, keys] of Object.entries(state.stateSize())) this.set({ rule }, keys);
      },
    });
    new Gauge({
      name: 'mcpwatch_detector_held_events',
      help: 'Events held for the allowed lateness before they run in event-time order (server and global scopes on several partitions), by scope.',
      labelNames: ['scope'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [scope, held] of Object.entries(state.heldEvents())) this.set({ scope }, held);
      },
    });
    if (options.processMetrics === true) collectDefaultMetrics({ register: this.registry });
  }

  /** Adds what an engine counted since `before` (engines count from their creation). */
  addEngineDelta(before: EngineCounters, after: EngineCounters): void {
    this.events.inc(after.events - before.events);
    this.lateEvents.inc(after.lateEvents - before.lateEvents);
    this.findingsSuppressed.inc(after.findingsSuppressed - before.findingsSuppressed);
    this.ruleErrors.inc(after.ruleErrors - before.ruleErrors);
    this.evictions.inc({ reason: 'idle' }, after.evictedIdle - before.evictedIdle);
    this.evictions.inc({ reason: 'cap' }, after.evictedOverCap - before.evictedOverCap);
    this.evictions.inc({ reason: 'shed' }, after.shed - before.shed);
  }
}
