/**
 * The engine of one scope and partition, and what one batch does to the engines: events read from the events
 * topic run at once through the engines of the scopes whose key lands on the same partition, and are re-keyed
 * for the others; re-keyed events run through their scope's engine once (a copy re-sent after a crash is
 * recognised by its origin and skipped). Pure bookkeeping: sending, delivering and committing are the
 * runtime's.
 */
import type { Alert } from '../contracts/alert.ts';
import type { McpEvent } from '../contracts/mcp-event.ts';
import { describeIssues, parseMcpEvent } from '../contracts/parse.ts';
import type { IncomingRecord, OutgoingRecord } from '../transport/types.ts';
import {
  changeToRecord,
  originRecord,
  positionRecord,
  type CheckpointOwner,
  type CheckpointRecord,
  type RestoreTarget,
} from './checkpoint.ts';
import { DetectionEngine, type EngineCounters, type EngineOptions } from './engine.ts';
import { anyRuleWants, scopeKeyOf, scopePartitionOf } from './scopes.ts';
import type { KeyScope } from './types.ts';

/** Header of a re-keyed event: `<events partition>/<offset>` it was read from. */
export const ORIGIN_HEADER = 'mcpwatch-origin';

export class ScopeRunner implements CheckpointOwner, RestoreTarget {
  readonly engine: DetectionEngine;
  /** Per input topic: records before this offset are already in the restored state. */
  readonly positions = new Map<string, bigint>();
  /** Per events partition: the last offset whose re-keyed copy the state includes. */
  readonly origins = new Map<number, bigint>();
  readonly #dirtyOrigins = new Set<number>();
  /** Engine counters as last added to the metrics. */
  counted: EngineCounters;
  /** Wall time (ms) of the last record this engine processed, for idle detection. */
  lastActive = Date.now();

  constructor(
    readonly scope: KeyScope,
    readonly partition: number,
    options: EngineOptions,
  ) {
    this.engine = new DetectionEngine(options);
    this.counted = { ...this.engine.counters };
  }

  get id(): string {
    return runnerId(this.scope, this.partition);
  }

  apply(checkpoint: CheckpointRecord): void {
    if (checkpoint.type === 'change') this.engine.restore(checkpoint.change);
    else if (checkpoint.type === 'position') this.positions.set(checkpoint.topic, BigInt(checkpoint.offset));
    else this.origins.set(checkpoint.eventsPartition, BigInt(checkpoint.offset));
  }

  /** Whether the restored state already includes `record` of its input topic. */
  includes(record: IncomingRecord): boolean {
    return BigInt(record.offset) < (this.positions.get(record.topic) ?? 0n);
  }

  /** Runs a re-keyed event unless its origin shows the state already has it. */
  processRekeyed(event: McpEvent, origin: { partition: number; offset: bigint } | undefined): Alert[] | undefined {
    if (origin !== undefined) {
      if (origin.offset <= (this.origins.get(origin.partition) ?? -1n)) return undefined;
      this.origins.set(origin.partition, origin.offset);
      this.#dirtyOrigins.add(origin.partition);
    }
    this.lastActive = Date.now();
    return this.engine.process(event);
  }

  process(event: McpEvent): Alert[] {
    this.lastActive = Date.now();
    return this.engine.process(event);
  }

  /** The state records of everything changed since the last call (positions are written separately, after). */
  takeCheckpoint(): OutgoingRecord[] {
    const records = this.engine.takeChanges().map((change) => changeToRecord(this, change));
    for (const partition of this.#dirtyOrigins)
      records.push(originRecord(this, partition, this.origins.get(partition)!));
    this.#dirtyOrigins.clear();
    return records;
  }

  position(topic: string, nextOffset: string): OutgoingRecord {
    this.positions.set(topic, BigInt(nextOffset));
    return positionRecord(this, topic, nextOffset);
  }
}

export function runnerId(scope: KeyScope, partition: number): string {
  return `${scope}/${partition}`;
}

export type ParsedRecord = { ok: true; value: McpEvent } | { ok: false; reason: string };

export function parseRecord(record: IncomingRecord): ParsedRecord {
  let json: unknown;
  try {
    json = JSON.parse(record.value.toString('utf8'));
  } catch (error) {
    return { ok: false, reason: `(root): not JSON (${error instanceof Error ? error.message : String(error)})` };
  }
  const parsed = parseMcpEvent(json);
  return parsed.ok ? parsed : { ok: false, reason: describeIssues(parsed.issues) };
}

/** What one batch produced: alerts to deliver, re-keyed events to send, engines to checkpoint. */
export class BatchWork {
  readonly alerts: Alert[] = [];
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
 * topic. `runners` are this partition's engines by scope.
 */
export function routeEventsBatch(
  records: readonly IncomingRecord[],
  partition: number,
  eventPartitions: number,
  routes: readonly ScopeRoute[],
  runners: ReadonlyMap<KeyScope, ScopeRunner>,
  work: BatchWork,
): void {
  for (const record of records) {
    const parsed = parseRecord(record);
    if (!parsed.ok) {
      work.invalid.push({ record, reason: parsed.reason });
      continue;
    }
    const event = parsed.value;
    for (const route of routes) {
      if (!anyRuleWants(route.rules, event)) continue;
      const target = scopePartitionOf(route.scope, event, eventPartitions);
      if (target === partition) {
        const runner = runners.get(route.scope)!;
        if (runner.includes(record)) {
          work.skipped += 1;
          continue;
        }
        work.alerts.push(...runner.process(event));
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

/** Runs one repartition-topic batch on its scope's engine of that partition. */
export function applyRekeyedBatch(records: readonly IncomingRecord[], runner: ScopeRunner, work: BatchWork): void {
  for (const record of records) {
    if (runner.includes(record)) {
      work.skipped += 1;
      continue;
    }
    // Written by the detectors themselves from an event already validated on the events topic.
    let event: McpEvent;
    try {
      event = JSON.parse(record.value.toString('utf8')) as McpEvent;
    } catch (error) {
      work.invalid.push({
        record,
        reason: `(root): not JSON (${error instanceof Error ? error.message : String(error)})`,
      });
      continue;
    }
    const alerts = runner.processRekeyed(event, originOf(record));
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
