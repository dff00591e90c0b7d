/**
 * The pure core of detection: keyed rule state, event time, timers, eviction, alert ids and suppression.
 * No I/O and no wall clock: the live runtime, `mcpwatch replay` and the rule fixtures all drive this one
 * class, so they produce the same alerts from the same events. Everything it holds is plain JSON, so the
 * runtime can checkpoint it (`takeChanges`) and restore it (`restoreEntry`).
 */
import { createHash } from 'node:crypto';
import { ALERT_SCHEMA_VERSION, type Alert } from '../contracts/alert.ts';
import type { McpEvent } from '../contracts/mcp-event.ts';
import type { DetectionEnvironment, Finding, Rule, RuleContext, RuleStep } from './types.ts';

export interface EnabledRule {
  rule: Rule<unknown, unknown>;
  /** Already parsed with `rule.configSchema`. */
  config: unknown;
}

export interface EngineOptions {
  rules: readonly EnabledRule[];
  environment?: DetectionEnvironment;
  /** How far behind the newest event time an event may arrive and still be on time. */
  allowedLatenessMs?: number;
  /** A key with no event for this long (in event time) is forgotten. */
  idleKeyTtlMs?: number;
  /** Hard cap on keys per rule; past it the least recently seen key is evicted. */
  maxKeysPerRule?: number;
  /** Findings of one rule about one subject within this period fold into the first alert's count. */
  suppressionMs?: number;
}

/** One rule's state for one key, as checkpointed. */
export interface StateEntry {
  state: unknown;
  /** Event time (ms) of the last event for this key. */
  lastSeen: number;
  /** Timer name → event time (ms) it fires at. */
  timers: Record<string, number>;
}

/** A suppression record for one rule and subject, as checkpointed. */
export interface SuppressionEntry {
  alertId: string;
  /** Event time (ms) the alert was first raised; folding stops `suppressionMs` after it. */
  raisedAt: number;
  count: number;
}

/** A change since the last `takeChanges`: `entry` undefined means the key was forgotten. */
export type EngineChange =
  | { type: 'state'; ruleId: string; key: string; entry: StateEntry | undefined }
  | { type: 'suppression'; ruleId: string; subject: string; entry: SuppressionEntry | undefined }
  | { type: 'clock'; maxEventTime: number };

export interface EngineCounters {
  events: number;
  lateEvents: number;
  ruleErrors: number;
  evictedIdle: number;
  evictedOverCap: number;
  /** Keys dropped by `shedOldest` because the state log was full. */
  shed: number;
  alertsRaised: number;
  findingsSuppressed: number;
}

export interface RuleError {
  ruleId: string;
  eventId?: string;
  error: unknown;
}

const DEFAULTS = {
  allowedLatenessMs: 60_000,
  idleKeyTtlMs: 24 * 3_600_000,
  maxKeysPerRule: 1_000_000,
  suppressionMs: 3_600_000,
};

/** A timer as queued: stale once its key is gone or its `at` changed (checked when it comes due). */
interface QueuedTimer {
  at: number;
  ruleIndex: number;
  key: string;
  name: string;
  /** Insertion order: ties fire in the order they were set. */
  seq: number;
}

/** Binary min-heap of timers by (at, seq): the engine finds due timers without scanning every key. */
class TimerQueue {
  private readonly heap: QueuedTimer[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(timer: Omit<QueuedTimer, 'seq'>): void {
    const heap = this.heap;
    heap.push({ ...timer, seq: this.seq++ });
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(heap[index]!, heap[parent]!)) break;
      [heap[index], heap[parent]] = [heap[parent]!, heap[index]!];
      index = parent;
    }
  }

  /** The earliest timer if it is due at or before `time`. */
  popDue(time: number): QueuedTimer | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined || top.at > time) return undefined;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let index = 0;
      for (;;) {
        const left = 2 * index + 1;
        const right = left + 1;
        let smallest = index;
        if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
        if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
        if (smallest === index) break;
        [heap[index], heap[smallest]] = [heap[smallest]!, heap[index]!];
        index = smallest;
      }
    }
    return top;
  }

  /** The latest seq handed out so far (timers pushed later have a larger one). */
  get lastSeq(): number {
    return this.seq - 1;
  }
}

function before(a: QueuedTimer, b: QueuedTimer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

const NO_ENVIRONMENT: DetectionEnvironment = { knownServers: [], trustedIssuers: [], expectedAudiences: {} };

/** `sha256(ruleId, ruleVersion, subject, window)` cut to 32 hex digits: the same detection, the same id. */
export function alertIdOf(ruleId: string, ruleVersion: number, subject: string, windowStart?: number): string {
  const material = JSON.stringify([ruleId, ruleVersion, subject, windowStart ?? null]);
  return createHash('sha256').update(material).digest('hex').slice(0, 32);
}

export class DetectionEngine {
  readonly counters: EngineCounters = {
    events: 0,
    lateEvents: 0,
    ruleErrors: 0,
    evictedIdle: 0,
    evictedOverCap: 0,
    shed: 0,
    alertsRaised: 0,
    findingsSuppressed: 0,
  };
  /** Errors thrown by rules since the last `takeRuleErrors`; a faulty rule never stops the others. */
  private ruleErrors: RuleError[] = [];
  private readonly rules: readonly EnabledRule[];
  private readonly environment: DetectionEnvironment;
  private readonly options: typeof DEFAULTS;
  /** ruleId → key → entry; Map order is least recently seen first (entries are re-inserted on use). */
  private readonly states = new Map<string, Map<string, StateEntry>>();
  /** ruleId → subject → suppression. */
  private readonly suppressions = new Map<string, Map<string, SuppressionEntry>>();
  private readonly changes = new Map<string, EngineChange>();
  private readonly timerQueue = new TimerQueue();
  private readonly ruleIndex = new Map<string, number>();
  private maxEventTime = Number.NEGATIVE_INFINITY;

  constructor(options: EngineOptions) {
    this.rules = options.rules;
    this.environment = options.environment ?? NO_ENVIRONMENT;
    this.options = {
      allowedLatenessMs: options.allowedLatenessMs ?? DEFAULTS.allowedLatenessMs,
      idleKeyTtlMs: options.idleKeyTtlMs ?? DEFAULTS.idleKeyTtlMs,
      maxKeysPerRule: options.maxKeysPerRule ?? DEFAULTS.maxKeysPerRule,
      suppressionMs: options.suppressionMs ?? DEFAULTS.suppressionMs,
    };
    for (const [index, { rule }] of this.rules.entries()) {
      this.ruleIndex.set(rule.meta.id, index);
      this.states.set(rule.meta.id, new Map());
      this.suppressions.set(rule.meta.id, new Map());
    }
  }

  get watermark(): number {
    return this.maxEventTime - this.options.allowedLatenessMs;
  }

  /** The newest event time seen (ms); −Infinity before the first event. */
  get eventTime(): number {
    return this.maxEventTime;
  }

  /** Keys held, per rule id. */
  stateSize(): Record<string, number> {
    return Object.fromEntries([...this.states].map(([ruleId, keys]) => [ruleId, keys.size]));
  }

  /** Runs every rule over one event, then fires the timers the advanced watermark passed. */
  process(event: McpEvent): Alert[] {
    const eventTime = Date.parse(event.time);
    this.counters.events += 1;
    if (eventTime < this.watermark) this.counters.lateEvents += 1;
    if (eventTime > this.maxEventTime) {
      this.maxEventTime = eventTime;
      this.changes.set('clock', { type: 'clock', maxEventTime: eventTime });
    }

    const alerts: Alert[] = [];
    for (const enabled of this.rules) {
      const { rule, config } = enabled;
      let key: string | undefined;
      try {
        key = rule.keyOf(event, config);
      } catch (error) {
        this.recordRuleError(rule.meta.id, event.eventId, error);
        continue;
      }
      if (key === undefined) continue;
      const keys = this.states.get(rule.meta.id)!;
      const existing = keys.get(key);
      const entry: StateEntry = existing ?? { state: rule.initialState(key), lastSeen: eventTime, timers: {} };
      const context = this.contextFor(enabled, eventTime);
      let step: RuleStep<unknown>;
      try {
        step = rule.onEvent(entry.state, event, context);
      } catch (error) {
        this.recordRuleError(rule.meta.id, event.eventId, error);
        continue;
      }
      entry.lastSeen = Math.max(entry.lastSeen, eventTime);
      this.applyStep(enabled, key, entry, step, eventTime, alerts);
    }
    this.fireDueTimers(alerts);
    this.evict();
    return alerts;
  }

  /** Moves event time forward without an event (e.g. partitions idle); fires due timers. */
  advanceTo(eventTime: number): Alert[] {
    if (eventTime > this.maxEventTime) {
      this.maxEventTime = eventTime;
      this.changes.set('clock', { type: 'clock', maxEventTime: eventTime });
    }
    const alerts: Alert[] = [];
    this.fireDueTimers(alerts);
    this.evict();
    return alerts;
  }

  /** What changed since the last call, latest value per key: the runtime checkpoints exactly this. */
  takeChanges(): EngineChange[] {
    const changes = [...this.changes.values()];
    this.changes.clear();
    return changes;
  }

  takeRuleErrors(): RuleError[] {
    const errors = this.ruleErrors;
    this.ruleErrors = [];
    return errors;
  }

  /** Restores one checkpointed change (state, suppression or clock) without recording it as a change. */
  restore(change: EngineChange): void {
    if (change.type === 'clock') {
      this.maxEventTime = Math.max(this.maxEventTime, change.maxEventTime);
      return;
    }
    if (change.type === 'state') {
      const keys = this.states.get(change.ruleId);
      if (keys === undefined) return; // a rule that is no longer enabled
      if (change.entry === undefined) keys.delete(change.key);
      else {
        keys.set(change.key, change.entry);
        this.queueTimers(change.ruleId, change.key, change.entry.timers);
      }
      return;
    }
    const subjects = this.suppressions.get(change.ruleId);
    if (subjects === undefined) return;
    if (change.entry === undefined) subjects.delete(change.subject);
    else subjects.set(change.subject, change.entry);
  }

  private contextFor(enabled: EnabledRule, eventTime: number): RuleContext<unknown> {
    return { eventTime, watermark: this.watermark, config: enabled.config, environment: this.environment };
  }

  private applyStep(
    enabled: EnabledRule,
    key: string,
    entry: StateEntry,
    step: RuleStep<unknown>,
    eventTime: number,
    alerts: Alert[],
  ): void {
    const ruleId = enabled.rule.meta.id;
    const keys = this.states.get(ruleId)!;
    if (step.state === undefined) {
      // A key that was never stored (a rule that keeps no state) has nothing to forget: no change to checkpoint.
      if (keys.delete(key)) this.changes.set(`s\0${ruleId}\0${key}`, { type: 'state', ruleId, key, entry: undefined });
    } else {
      entry.state = step.state;
      for (const timer of step.timers ?? []) entry.timers[timer.name] = timer.at;
      if (step.timers !== undefined && step.timers.length > 0) {
        this.queueTimers(ruleId, key, Object.fromEntries(step.timers.map((timer) => [timer.name, timer.at])));
      }
      keys.delete(key); // re-insert: Map order doubles as least-recently-seen order
      keys.set(key, entry);
      this.changes.set(`s\0${ruleId}\0${key}`, { type: 'state', ruleId, key, entry });
    }
    for (const finding of step.findings ?? []) {
      const alert = this.raise(enabled, finding, eventTime);
      if (alert !== undefined) alerts.push(alert);
    }
  }

  private queueTimers(ruleId: string, key: string, timers: Record<string, number>): void {
    const ruleIndex = this.ruleIndex.get(ruleId);
    if (ruleIndex === undefined) return;
    for (const [name, at] of Object.entries(timers)) this.timerQueue.push({ at, ruleIndex, key, name });
  }

  /**
   * Fires, in time order, the timers the watermark has passed. A timer set while firing is left for the next
   * call even when already due, so a rule that keeps re-arming cannot loop forever.
   */
  private fireDueTimers(alerts: Alert[]): void {
    const watermark = this.watermark;
    const lastSeq = this.timerQueue.lastSeq;
    const deferred: QueuedTimer[] = [];
    for (
      let queued = this.timerQueue.popDue(watermark);
      queued !== undefined;
      queued = this.timerQueue.popDue(watermark)
    ) {
      if (queued.seq > lastSeq) {
        deferred.push(queued);
        continue;
      }
      const enabled = this.rules[queued.ruleIndex]!;
      const { rule } = enabled;
      const entry = this.states.get(rule.meta.id)!.get(queued.key);
      if (rule.onTimer === undefined || entry === undefined || entry.timers[queued.name] !== queued.at) continue;
      const { name, at, key } = queued;
      delete entry.timers[name];
      let step: RuleStep<unknown>;
      try {
        step = rule.onTimer(entry.state, { name, at, key }, this.contextFor(enabled, at));
      } catch (error) {
        this.recordRuleError(rule.meta.id, undefined, error);
        continue;
      }
      this.applyStep(enabled, key, entry, step, at, alerts);
    }
    for (const queued of deferred) this.timerQueue.push(queued);
  }

  private raise(enabled: EnabledRule, finding: Finding, eventTime: number): Alert | undefined {
    const { meta } = enabled.rule;
    const subjects = this.suppressions.get(meta.id)!;
    const alertId = alertIdOf(meta.id, meta.version, finding.subject, finding.windowStart);
    const previous = subjects.get(finding.subject);
    const suppressed =
      previous !== undefined &&
      (previous.alertId === alertId || eventTime - previous.raisedAt < this.options.suppressionMs);
    if (suppressed) {
      previous.count += 1;
      this.counters.findingsSuppressed += 1;
      this.changes.set(`p\0${meta.id}\0${finding.subject}`, {
        type: 'suppression',
        ruleId: meta.id,
        subject: finding.subject,
        entry: previous,
      });
      return undefined;
    }
    const entry: SuppressionEntry = { alertId, raisedAt: eventTime, count: 1 };
    subjects.delete(finding.subject); // re-insert: Map order doubles as raisedAt order for eviction
    subjects.set(finding.subject, entry);
    this.changes.set(`p\0${meta.id}\0${finding.subject}`, {
      type: 'suppression',
      ruleId: meta.id,
      subject: finding.subject,
      entry,
    });
    this.counters.alertsRaised += 1;
    return {
      schemaVersion: ALERT_SCHEMA_VERSION,
      alertId,
      ruleId: meta.id,
      ruleVersion: meta.version,
      severity: finding.severity ?? meta.severity,
      title: finding.title,
      description: finding.description,
      time: new Date(eventTime).toISOString(),
      entities: finding.entities,
      evidence: finding.evidence,
      owasp: meta.owasp,
      attack: meta.attack,
      eventIds: finding.eventIds.slice(-32),
      count: 1,
    };
  }

  private evict(): void {
    const idleBefore = this.maxEventTime - this.options.idleKeyTtlMs;
    for (const [ruleId, keys] of this.states) {
      for (const [key, entry] of keys) {
        const hasPendingTimer = Object.keys(entry.timers).length > 0;
        if (entry.lastSeen >= idleBefore) break; // least recently seen first: the rest are newer
        if (hasPendingTimer) continue;
        keys.delete(key);
        this.counters.evictedIdle += 1;
        this.changes.set(`s\0${ruleId}\0${key}`, { type: 'state', ruleId, key, entry: undefined });
      }
      while (keys.size > this.options.maxKeysPerRule) {
        const oldest = keys.keys().next().value as string;
        keys.delete(oldest);
        this.counters.evictedOverCap += 1;
        this.changes.set(`s\0${ruleId}\0${oldest}`, { type: 'state', ruleId, key: oldest, entry: undefined });
      }
    }
    for (const [ruleId, subjects] of this.suppressions) {
      for (const [subject, entry] of subjects) {
        // Oldest raised first (late events aside, which only delay eviction): the rest are newer.
        if (entry.raisedAt >= idleBefore) break;
        subjects.delete(subject);
        this.changes.set(`p\0${ruleId}\0${subject}`, { type: 'suppression', ruleId, subject, entry: undefined });
      }
    }
  }

  /**
   * Forgets the least recently seen `fraction` of every rule's keys and suppressions (at least one of each
   * rule that has any),
   * recording each as a change: the runtime calls this when the state log refuses a checkpoint as full, so
   * the oldest state goes instead of the stream stopping. Returns how many keys were dropped.
   */
  shedOldest(fraction: number): number {
    let shed = 0;
    for (const [ruleId, keys] of this.states) {
      let count = Math.min(keys.size, Math.ceil(keys.size * fraction));
      for (const key of keys.keys()) {
        if (count-- <= 0) break;
        keys.delete(key);
        shed += 1;
        this.changes.set(`s\0${ruleId}\0${key}`, { type: 'state', ruleId, key, entry: undefined });
      }
    }
    for (const [ruleId, subjects] of this.suppressions) {
      // Oldest raised first; a shed suppression can only let a repeat of an alert through, with the same id.
      let count = Math.min(subjects.size, Math.ceil(subjects.size * fraction));
      for (const subject of subjects.keys()) {
        if (count-- <= 0) break;
        subjects.delete(subject);
        shed += 1;
        this.changes.set(`p\0${ruleId}\0${subject}`, { type: 'suppression', ruleId, subject, entry: undefined });
      }
    }
    this.counters.shed += shed;
    return shed;
  }

  private recordRuleError(ruleId: string, eventId: string | undefined, error: unknown): void {
    this.counters.ruleErrors += 1;
    if (this.ruleErrors.length < 100)
      this.ruleErrors.push({ ruleId, ...(eventId === undefined ? {} : { eventId }), error });
  }
}

/** Runs rules over events in the order given (callers sort by event time) and returns every alert. */
export function runRules(options: EngineOptions, events: Iterable<McpEvent>): Alert[] {
  const engine = new DetectionEngine(options);
  const alerts: Alert[] = [];
  for (const event of events) alerts.push(...engine.process(event));
  alerts.push(...engine.advanceTo(Number.MAX_SAFE_INTEGER));
  return alerts;
}
