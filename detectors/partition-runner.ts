/**
 * The engine of one scope and partition, and what one batch does to the engines: events read from the events
 * topic run at once through the engines of the scopes whose key lands on the same partition, and are re-keyed
 * for the others; re-keyed events run through their scope's engine once (a copy re-sent after a crash is
 * recognised by its origin and skipped). Pure bookkeeping: sending, delivering and committing are the
 * runtime's.
 *
 * An engine fed from several events partitions (a scope other than `session` on more than one partition)
 * reads them interleaved as they arrive: directly, and through its repartition partition after a hop. Such an
 * engine holds each event until event time is `holdMs` past it (or the engine idles) and runs what it held in
 * event-time order, as replay does; what it holds is checkpointed with its state. A `session` engine reads its
 * keys' events from its own partition, in order, and runs them at once; what reaches it after a hop runs at once
 * too, beside that partition's timeline (`processRekeyed`).
 */
import type { Alert } from '../contracts/alert.ts';
import type { McpEvent } from '../contracts/mcp-event.ts';
import { describeIssues, type McpEventParser } from '../contracts/parse.ts';
import type { IncomingRecord, OutgoingRecord } from '../transport/types.ts';
import {
  changeToRecord,
  heldBatchItem,
  heldBatchRecord,
  heldProgressRecord,
  heldTombstone,
  MAX_HELD_BATCH_CHARS,
  originRecord,
  positionRecord,
  type CheckpointOwner,
  type CheckpointRecord,
  type HeldInput,
  type RestoreTarget,
} from './checkpoint.ts';
import { DetectionEngine, parseEventTime, type EngineCounters, type EngineOptions } from './engine.ts';
import { MinHeap } from './min-heap.ts';
import { anyRuleWants, scopeKeyOf, scopePartitionOf } from './scopes.ts';
import type { KeyScope } from './types.ts';

/** Header of a re-keyed event: `<events partition>/<offset>` it was read from. */
export const ORIGIN_HEADER = 'mcpwatch-origin';

/** Events one engine holds at most; past it the earliest run at once (a flood must not grow memory unbounded). */
export const MAX_HELD_EVENTS = 100_000;

interface Held extends HeldInput {
  time: number;
  /** Where its record is in the state log: a batch, a record of the earlier layout, or none yet. */
  writtenIn: HeldBatch | 'held-record' | undefined;
}

/** Events one checkpoint wrote in one `held-batch` record, in the order they run: the first `ran` of them ran. */
interface HeldBatch {
  id: string;
  events: Held[];
  ran: number;
  /** `ran` as the state log has it. */
  ranWritten: number;
}

function earlier(a: Held, b: Held): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

export class ScopeRunner implements CheckpointOwner, RestoreTarget {
  readonly engine: DetectionEngine;
  /** Per input topic: records before this offset are already in the restored state. */
  readonly positions = new Map<string, bigint>();
  /** Per events partition: the last offset whose re-keyed copy the state includes. */
  readonly origins = new Map<number, bigint>();
  readonly #dirtyOrigins = new Set<number>();
  /** Held events by input (`<topic>/<offset>`); the queue may keep entries no longer here (skipped when popped). */
  readonly #held = new Map<string, Held>();
  /** Held events by (event time, seq). */
  readonly #queue = new MinHeap<Held>(earlier);
  /** Held since the last checkpoint and still held. */
  readonly #unwritten = new Set<Held>();
  /** Written batches with events still held, by id. */
  readonly #batches = new Map<string, HeldBatch>();
  /** Batches of which events ran since the last checkpoint. */
  readonly #ranBatches = new Set<HeldBatch>();
  /** Inputs of events restored from records of the earlier layout that ran since the last checkpoint. */
  readonly #ranHeldRecords = new Set<string>();
  #seq = 0;
  /** The newest event time read (held or run). */
  #readTime = Number.NEGATIVE_INFINITY;
  /** Engine counters as last added to the metrics. */
  counted: EngineCounters;
  /** Wall time (ms) of the last record this engine processed, for idle detection. */
  lastActive = Date.now();

  /**
   * `holdMs`: how long in event time an event is held for the events of other partitions to catch up; undefined
   * when the engine is fed from one partition only and runs events as they are read.
   */
  constructor(
    readonly scope: KeyScope,
    readonly partition: number,
    options: EngineOptions,
    readonly holdMs?: number,
  ) {
    this.engine = new DetectionEngine(options);
    this.counted = { ...this.engine.counters };
  }

  get id(): string {
    return runnerId(this.scope, this.partition);
  }

  /** The newest event time read, including events still held. */
  get eventTime(): number {
    return Math.max(this.#readTime, this.engine.eventTime);
  }

  /** Events read and held, not yet run. */
  get held(): number {
    return this.#held.size;
  }

  apply(checkpoint: CheckpointRecord): void {
    switch (checkpoint.type) {
      case 'change':
        return this.engine.restore(checkpoint.change);
      case 'position':
        return void this.positions.set(checkpoint.topic, BigInt(checkpoint.offset));
      case 'origin':
        return void this.origins.set(checkpoint.eventsPartition, BigInt(checkpoint.offset));
      case 'held':
        if (checkpoint.held === undefined) this.#held.delete(checkpoint.input);
        else this.#restoreHeld({ ...checkpoint.held, input: checkpoint.input }, 'held-record');
        return;
      case 'held-batch': {
        this.#forgetBatch(checkpoint.id);
        if (checkpoint.events === undefined) return;
        const batch: HeldBatch = { id: checkpoint.id, events: [], ran: 0, ranWritten: 0 };
        for (const held of checkpoint.events) batch.events.push(this.#restoreHeld(held, batch));
        this.#batches.set(batch.id, batch);
        return;
      }
      case 'held-progress':
        for (const [id, ran] of checkpoint.ran) {
          const batch = this.#batches.get(id);
          if (batch === undefined) continue;
          for (; batch.ran < Math.min(ran, batch.events.length); batch.ran += 1) this.#forget(batch.events[batch.ran]!);
          batch.ranWritten = batch.ran;
        }
    }
  }

  /** Whether the restored state already includes `record` of its input topic. */
  includes(record: IncomingRecord): boolean {
    const position = this.positions.get(record.topic);
    // Checked for every record: an offset of up to 15 digits is exact as a number, and cheaper to read than a BigInt.
    return (
      position !== undefined && (record.offset.length <= 15 ? Number(record.offset) : BigInt(record.offset)) < position
    );
  }

  /**
   * Runs a re-keyed event unless its origin shows the state already has it.
   *
   * An engine that does not hold (`session` on several partitions) keeps its own partition's event time: each of
   * its sessions' events is keyed to that partition and read there in order. What reaches it after a hop (tool
   * catalogs, keyed by server on the events topic) comes from other partitions, each at its own pace: after a
   * failover or behind a lagging consumer, months ahead of this one. Moving the clock with it evicted the sessions
   * whose next events were still to be read here (and would fire their timers early), so it runs at its own time
   * beside the clock, and does not count as this partition's activity for idling either. The session rules that
   * read catalogs keep no state, but for two that take one as an event of its session (README, Known limits).
   */
  processRekeyed(
    event: McpEvent,
    origin: { partition: number; offset: bigint } | undefined,
    input: string,
  ): Alert[] | undefined {
    if (origin !== undefined) {
      if (origin.offset <= (this.origins.get(origin.partition) ?? -1n)) return undefined;
      this.origins.set(origin.partition, origin.offset);
      this.#dirtyOrigins.add(origin.partition);
    }
    return this.holdMs === undefined ? this.engine.process(event, { movesClock: false }) : this.process(event, input);
  }

  /** Runs an event, or holds it when this engine orders by event time; returns the alerts of what ran. */
  process(event: McpEvent, input: string): Alert[] {
    this.lastActive = Date.now();
    if (this.holdMs === undefined) return this.engine.process(event);
    if (this.#held.has(input)) return []; // read again after a crash between its checkpoint and the position
    const held: Held = { seq: this.#seq++, event, input, time: timeOf(event), writtenIn: undefined };
    this.#hold(held);
    this.#unwritten.add(held);
    return this.#runHeld(this.#readTime - this.holdMs);
  }

  /** Runs everything held, in event-time order, then moves event time to `time` (the engine idled). */
  advanceTo(time: number): Alert[] {
    const alerts = this.#runHeld(Number.POSITIVE_INFINITY);
    alerts.push(...this.engine.advanceTo(time));
    return alerts;
  }

  /** The state records of everything changed since the last call (the runtime sends the positions with them). */
  takeCheckpoint(): OutgoingRecord[] {
    const records = this.engine.takeChanges().map((change) => changeToRecord(this, change));
    for (const partition of this.#dirtyOrigins)
      records.push(originRecord(this, partition, this.origins.get(partition)!));
    this.#dirtyOrigins.clear();
    for (const input of this.#ranHeldRecords) records.push(heldTombstone(this, input));
    this.#ranHeldRecords.clear();
    records.push(...this.#writeHeldBatches());
    let progressChanged = false;
    for (const batch of this.#ranBatches) {
      if (batch.ran === batch.events.length) {
        records.push(heldBatchRecord(this, batch.id, undefined));
        this.#batches.delete(batch.id);
        progressChanged ||= batch.ranWritten > 0;
      } else progressChanged = true;
      batch.ranWritten = batch.ran;
    }
    this.#ranBatches.clear();
    if (progressChanged) {
      const ran = new Map<string, number>();
      for (const batch of this.#batches.values()) if (batch.ran > 0) ran.set(batch.id, batch.ran);
      records.push(heldProgressRecord(this, ran));
    }
    return records;
  }

  /**
   * What was held since the last checkpoint and is still held, as `held-batch` records in the order it will run.
   * Every event of a batch stays in the queue from now until it runs, and the queue gives the earliest first, so
   * what runs of a batch is always its first events: `held-progress` needs only a count per batch.
   */
  #writeHeldBatches(): OutgoingRecord[] {
    if (this.#unwritten.size === 0) return [];
    const unwritten = [...this.#unwritten].sort((a, b) => (earlier(a, b) ? -1 : 1));
    this.#unwritten.clear();
    const records: OutgoingRecord[] = [];
    let batch: HeldBatch | undefined;
    let serialized: string[] = [];
    let chars = 0;
    const flush = () => {
      if (batch === undefined) return;
      this.#batches.set(batch.id, batch);
      records.push(heldBatchRecord(this, batch.id, serialized));
    };
    for (const held of unwritten) {
      const item = heldBatchItem(held);
      if (batch === undefined || chars + item.length > MAX_HELD_BATCH_CHARS) {
        flush();
        batch = { id: held.input, events: [], ran: 0, ranWritten: 0 };
        serialized = [];
        chars = 0;
      }
      batch.events.push(held);
      serialized.push(item);
      chars += item.length;
      held.writtenIn = batch;
    }
    flush();
    return records;
  }

  /** Never moves back: a batch read again after a restore may end before the restored position. */
  position(topic: string, nextOffset: string): OutgoingRecord {
    const next = BigInt(nextOffset);
    const current = this.positions.get(topic);
    if (current !== undefined && current > next) return positionRecord(this, topic, current.toString());
    this.positions.set(topic, next);
    return positionRecord(this, topic, nextOffset);
  }

  #hold(held: Held): void {
    this.#readTime = Math.max(this.#readTime, held.time);
    this.#held.set(held.input, held);
    this.#queue.push(held);
  }

  #restoreHeld(held: HeldInput, writtenIn: HeldBatch | 'held-record'): Held {
    this.#seq = Math.max(this.#seq, held.seq + 1);
    const restored: Held = { ...held, time: timeOf(held.event), writtenIn };
    this.#hold(restored);
    return restored;
  }

  /** A batch emptied, or written again (a checkpoint sent twice), forgets what it still held. */
  #forgetBatch(id: string): void {
    const batch = this.#batches.get(id);
    if (batch === undefined) return;
    for (const held of batch.events.slice(batch.ran)) this.#forget(held);
    this.#batches.delete(id);
  }

  /** Forgets a restored held event (the queue skips it when it comes up). */
  #forget(held: Held): void {
    if (this.#held.get(held.input) === held) this.#held.delete(held.input);
  }

  /** Runs held events up to event time `until` (and the earliest beyond the cap), in event-time order. */
  #runHeld(until: number): Alert[] {
    const alerts: Alert[] = [];
    for (let next = this.#queue.peek(); next !== undefined; next = this.#queue.peek()) {
      if (this.#held.get(next.input) !== next) {
        this.#queue.pop(); // run or forgotten since it was queued
        continue;
      }
      if (next.time > until && this.#held.size <= MAX_HELD_EVENTS) break;
      this.#queue.pop();
      this.#held.delete(next.input);
      // Held and run between two checkpoints: no record.
      if (next.writtenIn === undefined) this.#unwritten.delete(next);
      else if (next.writtenIn === 'held-record') this.#ranHeldRecords.add(next.input);
      else {
        next.writtenIn.ran += 1;
        this.#ranBatches.add(next.writtenIn);
      }
      alerts.push(...this.engine.process(next.event));
    }
    return alerts;
  }
}

/** Event time in ms; an unreadable time runs first (the engine counts it as it would any event). */
function timeOf(event: McpEvent): number {
  const time = parseEventTime(event.time);
  return Number.isNaN(time) ? Number.NEGATIVE_INFINITY : time;
}

export function runnerId(scope: KeyScope, partition: number): string {
  return `${scope}/${partition}`;
}

export type ParsedRecord = { ok: true; value: McpEvent } | { ok: false; reason: string };

export function parseRecord(record: IncomingRecord, parser: McpEventParser): ParsedRecord {
  let json: unknown;
  try {
    json = JSON.parse(record.value.toString('utf8'));
  } catch (error) {
    return { ok: false, reason: `(root): not JSON (${error instanceof Error ? error.message : String(error)})` };
  }
  const parsed = parser.parse(json);
  return parsed.ok ? parsed : { ok: false, reason: describeIssues(parsed.issues) };
}

/** What one batch produced: alerts (and audit events) to deliver, re-keyed events to send, engines to checkpoint. */
export class BatchWork {
  readonly alerts: Alert[] = [];
  /** The valid events of an events-topic batch, for sinks that carry audit events; never the re-keyed copies. */
  readonly events: McpEvent[] = [];
  /** Repartition topic → re-keyed events, in the order they were read. */
  readonly forwards = new Map<string, OutgoingRecord[]>();
  readonly touched = new Set<ScopeRunner>();
  invalid: { record: IncomingRecord; reason: string }[] = [];
  skipped = 0;
  duplicates = 0;
}

export interface ScopeRoute {
  scope: KeyScope;
  rules: EngineOptions['rules'];
  topic: string;
}

/**
 * Runs one events-topic batch of partition `partition`: for each event and scope with a rule that wants it,
 * at once on the engine of this partition when the scope key lands here, else re-keyed for its repartition
 * topic. `runners` are this partition's engines by scope; `parser` flattens and checks each record as replay does.
 */
export function routeEventsBatch(
  records: readonly IncomingRecord[],
  partition: number,
  eventPartitions: number,
  routes: readonly ScopeRoute[],
  runners: ReadonlyMap<KeyScope, ScopeRunner>,
  work: BatchWork,
  parser: McpEventParser,
): void {
  for (const record of records) {
    const parsed = parseRecord(record, parser);
    if (!parsed.ok) {
      work.invalid.push({ record, reason: parsed.reason });
      continue;
    }
    const event = parsed.value;
    work.events.push(event);
    const input = `${record.topic}/${record.offset}`;
    for (const route of routes) {
      if (!anyRuleWants(route.rules, event)) continue;
      const target = scopePartitionOf(route.scope, event, eventPartitions);
      if (target === partition) {
        const runner = runners.get(route.scope)!;
        if (runner.includes(record)) {
          work.skipped += 1;
          continue;
        }
        work.alerts.push(...runner.process(event, input));
        work.touched.add(runner);
        continue;
      }
      let forwards = work.forwards.get(route.topic);
      if (forwards === undefined) work.forwards.set(route.topic, (forwards = []));
      forwards.push({
        key: scopeKeyOf(route.scope, event),
        value: record.value,
        headers: { [ORIGIN_HEADER]: `${partition}/${record.offset}` },
        partition: target,
      });
    }
  }
}

/**
 * Runs one repartition-topic batch on its scope's engine of that partition. A re-keyed record holds the bytes
 * of an events record, so it is parsed as that record was (deep values flattened, keys outside the schema
 * dropped): an event must look the same to the rules whether it hopped or not.
 */
export function applyRekeyedBatch(
  records: readonly IncomingRecord[],
  runner: ScopeRunner,
  work: BatchWork,
  parser: McpEventParser,
): void {
  for (const record of records) {
    if (runner.includes(record)) {
      work.skipped += 1;
      continue;
    }
    const parsed = parseRecord(record, parser);
    if (!parsed.ok) {
      work.invalid.push({ record, reason: parsed.reason });
      continue;
    }
    const alerts = runner.processRekeyed(parsed.value, originOf(record), `${record.topic}/${record.offset}`);
    if (alerts === undefined) {
      work.duplicates += 1;
      continue;
    }
    work.alerts.push(...alerts);
    work.touched.add(runner);
  }
}

function originOf(record: IncomingRecord): { partition: number; offset: bigint } | undefined {
  const match = /^(\d{1,9})\/(\d{1,20})$/.exec(record.headers[ORIGIN_HEADER] ?? '');
  return match === null ? undefined : { partition: Number(match[1]), offset: BigInt(match[2]!) };
}
