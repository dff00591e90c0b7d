/**
 * The pure core of detection: keyed rule state, event time, timers, eviction, alert ids and suppression.
 * No I/O and no wall clock: the live runtime, `mcpwatch replay` and the rule fixtures all drive this one
 * class, so they produce the same alerts from the same events. Everything it holds is plain JSON, so the
 * runtime can checkpoint it (`takeChanges`) and restore it (`restoreEntry`).
 */
import { createHash } from 'node:crypto';
import { ALERT_SCHEMA_VERSION, type Alert } from '../contracts/alert.ts';
import type { McpEvent } from '../contracts/mcp-event.ts';
import { MinHeap } from './min-heap.ts';
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

/** Timers by (at, seq) in a min-heap: the engine finds due timers without scanning every key. */
class TimerQueue {
  private readonly heap = new MinHeap<QueuedTimer>(before);
  private seq = 0;

  get size(): number {
    return this.heap.size;
  }

  /** When the earliest timer is due (Infinity when none is queued). */
  get nextAt(): number {
    return this.heap.peek()?.at ?? Number.POSITIVE_INFINITY;
  }

  push(timer: Omit<QueuedTimer, 'seq'>): void {
    this.heap.push({ ...timer, seq: this.seq++ });
  }

  /** The earliest timer if it is due at or before `time`. */
  popDue(time: number): QueuedTimer | undefined {
    const top = this.heap.peek();
    return top === undefined || top.at > time ? undefined : this.heap.pop();
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

/** One rule's state for one key, as held: a `StateEntry` with no timers object while no timer is pending. */
interface HeldEntry {
  state: unknown;
  lastSeen: number;
  timers: Record<string, number> | undefined;
}

/**
 * What the engine holds for one rule id: keys and suppressions in least-recently-seen order, those changed
 * since the last `takeChanges` (dirty keys: the checkpoint is built from them when it is taken), and where the
 * last eviction scan of each map stopped. A scan starts at the oldest entry and stops at the first that is not
 * idle; while that entry is unmoved and not yet idle, scanning again would find nothing, so it is skipped.
 */
class RuleSlot {
  readonly keys = new Map<string, HeldEntry>();
  readonly subjects = new Map<string, SuppressionEntry>();
  readonly changedKeys = new Set<string>();
  readonly changedSubjects = new Set<string>();
  /** The key the last scan stopped at; undefined when it went through the whole map. */
  keyScanStop: string | undefined = undefined;
  /** That key's lastSeen (Infinity when there is none): no key is idle before the idle bound passes it. */
  keyScanStopSeen = Number.POSITIVE_INFINITY;
  /** Whether the next eviction must scan the keys (something at their head moved, or the cap was passed). */
  keyScanNeeded = false;
  subjectScanStop: string | undefined = undefined;
  subjectScanStopRaised = Number.POSITIVE_INFINITY;
  subjectScanNeeded = false;
  /**
   * The key last set by a step, while it is held: the most recently seen, so a step for it again leaves the order
   * as it is (a session's or a server's events mostly come in runs). Undefined once it may not be either.
   */
  newestKey: string | undefined = undefined;

  constructor(readonly ruleId: string) {}

  /** Records that `key` was set, moved or deleted: the next scan must look when it was the head. */
  keyMoved(key: string): void {
    this.changedKeys.add(key);
    if (this.keyScanStop === undefined || this.keyScanStop === key) this.keyScanNeeded = true;
  }

  subjectMoved(subject: string): void {
    this.changedSubjects.add(subject);
    if (this.subjectScanStop === undefined || this.subjectScanStop === subject) this.subjectScanNeeded = true;
  }
}

function heldEntryOf(entry: StateEntry): HeldEntry {
  return { state: entry.state, lastSeen: entry.lastSeen, timers: hasKeys(entry.timers) ? entry.timers : undefined };
}

function hasKeys(record: Record<string, unknown> | undefined): record is Record<string, unknown> {
  for (const _ in record) return true;
  return false;
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
  /** One per rule id, in catalog order (rules that share an id share their state). */
  private readonly slots: RuleSlot[] = [];
  private readonly slotById = new Map<string, RuleSlot>();
  /** The slot of each enabled rule, by its index in `rules`. */
  private readonly slotOfRule: RuleSlot[] = [];
  private readonly timerQueue = new TimerQueue();
  /** Rule id → index of the (last) rule with that id: timers name the rule that fires them. */
  private readonly ruleIndex = new Map<string, number>();
  private maxEventTime = Number.NEGATIVE_INFINITY;
  private clockChanged = false;
  /** No slot holds an entry that could be idle before this (lower bound): below it, eviction scans nothing. */
  private earliestScanStop = Number.POSITIVE_INFINITY;
  /** Set when maps changed outside `process` (restore, shedding): the next eviction scans every map. */
  private scanEverything = false;
  /** Keys of the event being processed, so that rules keyed alike hold one string (reused between events). */
  private readonly eventKeys: string[] = [];
  /** The context each rule is called with, by index in `rules`: updated in place, as rules only read it. */
  private readonly contexts: RuleContext<unknown>[];

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
      let slot = this.slotById.get(rule.meta.id);
      if (slot === undefined) {
        slot = new RuleSlot(rule.meta.id);
        this.slotById.set(rule.meta.id, slot);
        this.slots.push(slot);
      }
      this.slotOfRule.push(slot);
    }
    this.contexts = this.rules.map(({ config }) => ({
      eventTime: 0,
      watermark: 0,
      config,
      environment: this.environment,
    }));
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
    return Object.fromEntries(this.slots.map((slot) => [slot.ruleId, slot.keys.size]));
  }

  /**
   * Runs every rule over one event, then fires the timers the advanced watermark passed. With `movesClock: false`
   * the rules see the event at its own time and the engine's event time stays: an event from another timeline
   * (a partition far ahead) must not fire timers or evict keys whose later events are still to come.
   */
  process(event: McpEvent, options?: { movesClock?: boolean }): Alert[] {
    const eventTime = timeOf(event);
    this.counters.events += 1;
    if (eventTime < this.watermark) this.counters.lateEvents += 1;
    if (options?.movesClock !== false) this.advanceClock(eventTime);

    const alerts: Alert[] = [];
    const eventKeys = this.eventKeys;
    eventKeys.length = 0;
    for (let index = 0; index < this.rules.length; index += 1) {
      const enabled = this.rules[index]!;
      const { rule, config } = enabled;
      let key: string | undefined;
      try {
        key = rule.keyOf(event, config);
      } catch (error) {
        this.recordRuleError(rule.meta.id, event.eventId, error);
        continue;
      }
      if (key === undefined) continue;
      const slot = this.slotOfRule[index]!;
      let entry = slot.keys.get(key);
      if (entry === undefined) {
        key = sharedKey(eventKeys, key);
        entry = { state: rule.initialState(key), lastSeen: eventTime, timers: undefined };
      } else {
        eventKeys.push(key);
      }
      let step: RuleStep<unknown>;
      try {
        step = rule.onEvent(entry.state, event, this.contextFor(index, eventTime));
      } catch (error) {
        this.recordRuleError(rule.meta.id, event.eventId, error);
        continue;
      }
      entry.lastSeen = Math.max(entry.lastSeen, eventTime);
      this.applyStep(enabled, slot, key, entry, step, eventTime, alerts);
    }
    this.fireDueTimers(alerts);
    this.evict();
    return alerts;
  }

  /** Moves event time forward without an event (e.g. partitions idle); fires due timers. */
  advanceTo(eventTime: number): Alert[] {
    this.advanceClock(eventTime);
    const alerts: Alert[] = [];
    this.fireDueTimers(alerts);
    this.evict();
    return alerts;
  }

  /** What changed since the last call, latest value per key: the runtime checkpoints exactly this. */
  takeChanges(): EngineChange[] {
    const changes: EngineChange[] = [];
    if (this.clockChanged) {
      changes.push({ type: 'clock', maxEventTime: this.maxEventTime });
      this.clockChanged = false;
    }
    for (const slot of this.slots) {
      const { ruleId } = slot;
      for (const key of slot.changedKeys) {
        const held = slot.keys.get(key);
        const entry =
          held === undefined ? undefined : { state: held.state, lastSeen: held.lastSeen, timers: held.timers ?? {} };
        changes.push({ type: 'state', ruleId, key, entry });
      }
      slot.changedKeys.clear();
      for (const subject of slot.changedSubjects) {
        changes.push({ type: 'suppression', ruleId, subject, entry: slot.subjects.get(subject) });
      }
      slot.changedSubjects.clear();
    }
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
    const slot = this.slotById.get(change.ruleId);
    if (slot === undefined) return; // a rule that is no longer enabled
    this.scanEverything = true;
    slot.newestKey = undefined;
    if (change.type === 'state') {
      if (change.entry === undefined) slot.keys.delete(change.key);
      else {
        const held = heldEntryOf(change.entry);
        slot.keys.set(change.key, held);
        if (held.timers !== undefined) this.queueTimers(change.ruleId, change.key, held.timers);
      }
      return;
    }
    if (change.entry === undefined) slot.subjects.delete(change.subject);
    else slot.subjects.set(change.subject, change.entry);
  }

  private advanceClock(eventTime: number): void {
    if (eventTime > this.maxEventTime) {
      this.maxEventTime = eventTime;
      this.clockChanged = true;
    }
  }

  private contextFor(ruleIndex: number, eventTime: number): RuleContext<unknown> {
    const context = this.contexts[ruleIndex]!;
    context.eventTime = eventTime;
    context.watermark = this.watermark;
    return context;
  }

  private applyStep(
    enabled: EnabledRule,
    slot: RuleSlot,
    key: string,
    entry: HeldEntry,
    step: RuleStep<unknown>,
    eventTime: number,
    alerts: Alert[],
  ): void {
    const keys = slot.keys;
    if (step.state === undefined) {
      // A key that was never stored (a rule that keeps no state) has nothing to forget: no change to checkpoint.
      if (keys.delete(key)) slot.keyMoved(key);
      if (slot.newestKey === key) slot.newestKey = undefined;
    } else {
      entry.state = step.state;
      if (step.timers !== undefined && step.timers.length > 0) {
        const timers = (entry.timers ??= {});
        for (const timer of step.timers) timers[timer.name] = timer.at;
        this.queueTimers(slot.ruleId, key, Object.fromEntries(step.timers.map((timer) => [timer.name, timer.at])));
      }
      if (slot.newestKey !== key) {
        keys.delete(key); // re-insert: Map order doubles as least-recently-seen order
        keys.set(key, entry);
        slot.newestKey = key;
        if (keys.size > this.options.maxKeysPerRule) slot.keyScanNeeded = true;
      }
      slot.keyMoved(key);
    }
    if (step.findings === undefined) return;
    for (const finding of step.findings) {
      const alert = this.raise(enabled, slot, finding, eventTime);
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
    if (!(this.timerQueue.nextAt <= watermark)) return;
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
      const slot = this.slotOfRule[queued.ruleIndex]!;
      const entry = slot.keys.get(queued.key);
      if (rule.onTimer === undefined || entry?.timers === undefined || entry.timers[queued.name] !== queued.at)
        continue;
      const { name, at, key } = queued;
      delete entry.timers[name];
      if (!hasKeys(entry.timers)) entry.timers = undefined;
      let step: RuleStep<unknown>;
      try {
        step = rule.onTimer(entry.state, { name, at, key }, this.contextFor(queued.ruleIndex, at));
      } catch (error) {
        this.recordRuleError(rule.meta.id, undefined, error);
        continue;
      }
      this.applyStep(enabled, slot, key, entry, step, at, alerts);
    }
    for (const queued of deferred) this.timerQueue.push(queued);
  }

  private raise(enabled: EnabledRule, slot: RuleSlot, finding: Finding, eventTime: number): Alert | undefined {
    const { meta } = enabled.rule;
    const subjects = slot.subjects;
    const alertId = alertIdOf(meta.id, meta.version, finding.subject, finding.windowStart);
    const previous = subjects.get(finding.subject);
    const suppressed =
      previous !== undefined &&
      (previous.alertId === alertId || eventTime - previous.raisedAt < this.options.suppressionMs);
    if (suppressed) {
      previous.count += 1;
      this.counters.findingsSuppressed += 1;
      slot.changedSubjects.add(finding.subject);
      return undefined;
    }
    const entry: SuppressionEntry = { alertId, raisedAt: eventTime, count: 1 };
    subjects.delete(finding.subject); // re-insert: Map order doubles as raisedAt order for eviction
    subjects.set(finding.subject, entry);
    slot.subjectMoved(finding.subject);
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

  /**
   * Forgets keys idle for `idleKeyTtlMs` (keys with a pending timer stay) and keys over the cap, and
   * suppressions raised that long ago. Only maps whose head moved are scanned, unless the idle bound passed
   * where an earlier scan stopped.
   */
  private evict(): void {
    const idleBefore = this.maxEventTime - this.options.idleKeyTtlMs;
    const everything = this.scanEverything || idleBefore > this.earliestScanStop;
    let earliest = everything ? Number.POSITIVE_INFINITY : this.earliestScanStop;
    for (const slot of this.slots) {
      let scanned = false;
      if (everything || slot.keyScanNeeded) {
        this.scanKeys(slot, idleBefore);
        scanned = true;
      }
      if (everything || slot.subjectScanNeeded) {
        this.scanSubjects(slot, idleBefore);
        scanned = true;
      }
      if (scanned) earliest = Math.min(earliest, slot.keyScanStopSeen, slot.subjectScanStopRaised);
    }
    this.earliestScanStop = earliest;
    this.scanEverything = false;
  }

  private scanKeys(slot: RuleSlot, idleBefore: number): void {
    const keys = slot.keys;
    let stop: string | undefined;
    let stopSeen = Number.POSITIVE_INFINITY;
    let skipped = false;
    for (const [key, entry] of keys) {
      if (entry.lastSeen >= idleBefore) {
        stop = key;
        stopSeen = entry.lastSeen;
        break; // least recently seen first: the rest are newer
      }
      if (entry.timers !== undefined) {
        skipped = true;
        continue;
      }
      keys.delete(key);
      this.counters.evictedIdle += 1;
      slot.changedKeys.add(key);
    }
    let overCap = false;
    while (keys.size > this.options.maxKeysPerRule) {
      const oldest = keys.keys().next().value as string;
      keys.delete(oldest);
      this.counters.evictedOverCap += 1;
      slot.changedKeys.add(oldest);
      overCap = true;
    }
    if (slot.newestKey !== undefined && !keys.has(slot.newestKey)) slot.newestKey = undefined;
    slot.keyScanStop = stop;
    slot.keyScanStopSeen = stopSeen;
    // Idle keys kept for their timers, or a head cut by the cap: the next scan cannot be skipped.
    slot.keyScanNeeded = skipped || overCap;
  }

  private scanSubjects(slot: RuleSlot, idleBefore: number): void {
    const subjects = slot.subjects;
    let stop: string | undefined;
    let stopRaised = Number.POSITIVE_INFINITY;
    for (const [subject, entry] of subjects) {
      // Oldest raised first (late events aside, which only delay eviction): the rest are newer.
      if (entry.raisedAt >= idleBefore) {
        stop = subject;
        stopRaised = entry.raisedAt;
        break;
      }
      subjects.delete(subject);
      slot.changedSubjects.add(subject);
    }
    slot.subjectScanStop = stop;
    slot.subjectScanStopRaised = stopRaised;
    slot.subjectScanNeeded = false;
  }

  /**
   * Forgets the least recently seen `fraction` of every rule's keys and suppressions (at least one of each
   * rule that has any),
   * recording each as a change: the runtime calls this when the state log refuses a checkpoint as full, so
   * the oldest state goes instead of the stream stopping. Returns how many keys were dropped.
   */
  shedOldest(fraction: number): number {
    let shed = 0;
    for (const slot of this.slots) {
      const { keys, subjects } = slot;
      let count = Math.min(keys.size, Math.ceil(keys.size * fraction));
      for (const key of keys.keys()) {
        if (count-- <= 0) break;
        keys.delete(key);
        shed += 1;
        slot.changedKeys.add(key);
      }
      if (slot.newestKey !== undefined && !keys.has(slot.newestKey)) slot.newestKey = undefined;
      // Oldest raised first; a shed suppression can only let a repeat of an alert through, with the same id.
      count = Math.min(subjects.size, Math.ceil(subjects.size * fraction));
      for (const subject of subjects.keys()) {
        if (count-- <= 0) break;
        subjects.delete(subject);
        shed += 1;
        slot.changedSubjects.add(subject);
      }
    }
    this.scanEverything = true;
    this.counters.shed += shed;
    return shed;
  }

  private recordRuleError(ruleId: string, eventId: string | undefined, error: unknown): void {
    this.counters.ruleErrors += 1;
    if (this.ruleErrors.length < 100)
      this.ruleErrors.push({ ruleId, ...(eventId === undefined ? {} : { eventId }), error });
  }
}

/** The last event time parsed: the engines of all scopes process one event in turn. */
let parsedText = '';
let parsedMs = Number.NaN;

function timeOf(event: McpEvent): number {
  const text = event.time;
  if (text !== parsedText) {
    parsedText = text;
    parsedMs = parseEventTime(text);
  }
  return parsedMs;
}

/**
 * `Date.parse(text)`, with the form events carry (`2026-01-01T00:00:00.000Z`, as `toISOString` writes it) read
 * field by field: `Date.UTC` of the fields is what `Date.parse` gives for them, days past a month's end included.
 */
export function parseEventTime(text: string): number {
  if (
    text.length !== 24 ||
    text.charCodeAt(4) !== 45 || // -
    text.charCodeAt(7) !== 45 ||
    text.charCodeAt(10) !== 84 || // T
    text.charCodeAt(13) !== 58 || // :
    text.charCodeAt(16) !== 58 ||
    text.charCodeAt(19) !== 46 || // .
    text.charCodeAt(23) !== 90 // Z
  )
    return Date.parse(text);
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  const hour = digitsAt(text, 11, 2);
  const minute = digitsAt(text, 14, 2);
  const second = digitsAt(text, 17, 2);
  const millisecond = digitsAt(text, 20, 3);
  if (
    year < 1000 || // Date.UTC reads years below 100 as 19xx
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > 31 ||
    hour < 0 ||
    hour > 23 ||
    minute < 0 ||
    minute > 59 ||
    second < 0 ||
    second > 59 ||
    millisecond < 0
  )
    return Date.parse(text);
  return Date.UTC(year, month - 1, day, hour, minute, second, millisecond);
}

/** The decimal number of `length` digits at `start`, or -1 when one is not a digit. */
function digitsAt(text: string, start: number, length: number): number {
  let value = 0;
  for (let index = start; index < start + length; index += 1) {
    const digit = text.charCodeAt(index) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * The string of an equal key an earlier rule gave for this event, else `key`; either way it is remembered for
 * the rules after. Rules of one scope mostly key an event alike, and each stored copy of a key costs memory.
 */
function sharedKey(eventKeys: string[], key: string): string {
  for (const seen of eventKeys) if (seen === key) return seen;
  eventKeys.push(key);
  return key;
}

/** Runs rules over events in the order given (callers sort by event time) and returns every alert. */
export function runRules(options: EngineOptions, events: Iterable<McpEvent>): Alert[] {
  const engine = new DetectionEngine(options);
  const alerts: Alert[] = [];
  for (const event of events) alerts.push(...engine.process(event));
  alerts.push(...engine.advanceTo(Number.MAX_SAFE_INTEGER));
  return alerts;
}
