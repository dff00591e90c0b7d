/**
 * Engine state as records of the compacted state topic. The checkpoint of the engine of one scope and
 * partition is a set of keys prefixed by both, written to the state partition of the same number (`global`,
 * one partition, to state partition 0):
 *
 * | key | value |
 * | --- | --- |
 * | `<scope>/<p>/state/<ruleId>/<key>` | `StateEntry` JSON; empty (tombstone) when the key was forgotten |
 * | `<scope>/<p>/suppression/<ruleId>/<subject>` | `SuppressionEntry` JSON; empty when it expired |
 * | `<scope>/<p>/clock` | `{ maxEventTime }`: the engine's event time |
 * | `<scope>/<p>/position/<topic>` | `{ offset }`: the next offset of that input the state does not include yet |
 * | `<scope>/<p>/origin/<eventsPartition>` | `{ offset }`: the last events offset whose re-keyed copy it includes |
 * | `<scope>/<p>/held-batch/<topic>/<offset>` | `{ events: [{ input, seq, event }] }`: events read but held for event-time order, in the order they run; empty once all ran |
 * | `<scope>/<p>/held-progress` | `{ ran: { <held-batch id>: n } }`: the first n events of each such batch ran; empty when none partly ran |
 * | `<scope>/<p>/held/<topic>/<offset>` | `{ seq, event }`: one held event (the earlier layout, read still; empty once run) |
 *
 * Held events go out in one `held-batch` record per engine and checkpoint (more when they pass
 * `MAX_HELD_BATCH_CHARS`), keyed by the input of its first event, not one record per event and another when it
 * ran. What ran of a batch is always its first n events (they run in the order written; see `ScopeRunner`), so
 * one `held-progress` record per engine says what ran of every batch; a batch all of whose events ran is
 * emptied. Instances of earlier versions cannot restore these two kinds (they stop with `INPUT_INVALID`).
 *
 * A batch's positions are sent with the state records they cover, in one send of an atomic producer (a Kafka
 * transaction, however many requests the send takes; the embedded log appends a send whole), and restore reads
 * committed records only, so a restored state includes every record before its position and none after it.
 * Keys of the earlier layout (`<p>/…`, one engine per events partition) restore into the `session` scope.
 */
import { McpwatchError } from '../contracts/errors.ts';
import type { McpEvent } from '../contracts/mcp-event.ts';
import type { IncomingRecord, OutgoingRecord, Transport } from '../transport/types.ts';
import type { EngineChange, StateEntry, SuppressionEntry } from './engine.ts';
import { KEY_SCOPES } from './scopes.ts';
import type { KeyScope } from './types.ts';

/** A checkpoint value larger than this is refused when read back: a rule's state must stay small. */
const MAX_CHECKPOINT_VALUE_BYTES = 1_048_576;

/** Which engine a checkpoint belongs to, and the state partition it is written to. */
export interface CheckpointOwner {
  scope: KeyScope;
  partition: number;
}

export function statePartitionOf(owner: CheckpointOwner): number {
  return owner.scope === 'global' ? 0 : owner.partition;
}

function prefixOf(owner: CheckpointOwner): string {
  return `${owner.scope}/${owner.partition}`;
}

/**
 * The seam's value is `Buffer | string`; a Kafka tombstone is a null value. An empty value stands for it here
 * (decoding reads it as "forgotten"; the embedded log's compaction drops it like a tombstone).
 */
const TOMBSTONE = '';

export function changeToRecord(owner: CheckpointOwner, change: EngineChange): OutgoingRecord {
  const partition = statePartitionOf(owner);
  const prefix = prefixOf(owner);
  switch (change.type) {
    case 'clock':
      return { key: `${prefix}/clock`, value: JSON.stringify({ maxEventTime: change.maxEventTime }), partition };
    case 'state':
      return {
        key: `${prefix}/state/${change.ruleId}/${change.key}`,
        value: change.entry === undefined ? TOMBSTONE : JSON.stringify(change.entry),
        partition,
      };
    case 'suppression':
      return {
        key: `${prefix}/suppression/${change.ruleId}/${change.subject}`,
        value: change.entry === undefined ? TOMBSTONE : JSON.stringify(change.entry),
        partition,
      };
  }
}

export function positionRecord(owner: CheckpointOwner, topic: string, nextOffset: string): OutgoingRecord {
  return {
    key: `${prefixOf(owner)}/position/${topic}`,
    value: JSON.stringify({ offset: nextOffset }),
    partition: statePartitionOf(owner),
  };
}

export function originRecord(owner: CheckpointOwner, eventsPartition: number, offset: bigint): OutgoingRecord {
  return {
    key: `${prefixOf(owner)}/origin/${eventsPartition}`,
    value: JSON.stringify({ offset: offset.toString() }),
    partition: statePartitionOf(owner),
  };
}

/** An event an engine read but holds until event time passes it; `seq` orders events of one time as read. */
export interface HeldEvent {
  seq: number;
  event: McpEvent;
}

/** A held event with `input`, `<topic>/<offset>` of the record it was read from. */
export interface HeldInput extends HeldEvent {
  input: string;
}

/**
 * Characters of held events one `held-batch` record takes before the next starts (a larger event goes alone):
 * at most 3 bytes each in UTF-8, so a record stays under the transports' `MAX_RECORD_BYTES` and the 1 MiB a
 * checkpoint value may have when read back.
 */
export const MAX_HELD_BATCH_CHARS = 256 * 1024;

/** The earlier layout's tombstone of one held event, written once an event restored from it ran. */
export function heldTombstone(owner: CheckpointOwner, input: string): OutgoingRecord {
  return { key: `${prefixOf(owner)}/held/${input}`, value: TOMBSTONE, partition: statePartitionOf(owner) };
}

/**
 * `events` in the order they will run, as `id` (the input of the first) names them, or undefined once all ran.
 * `serialized` are the events' JSON as `heldBatchItem` made them: each is serialized once, also to size batches.
 */
export function heldBatchRecord(
  owner: CheckpointOwner,
  id: string,
  serialized: readonly string[] | undefined,
): OutgoingRecord {
  return {
    key: `${prefixOf(owner)}/held-batch/${id}`,
    value: serialized === undefined ? TOMBSTONE : `{"events":[${serialized.join(',')}]}`,
    partition: statePartitionOf(owner),
  };
}

export function heldBatchItem(held: HeldInput): string {
  return JSON.stringify({ input: held.input, seq: held.seq, event: held.event });
}

/** How many events ran of each held batch that partly ran (none: a tombstone). */
export function heldProgressRecord(owner: CheckpointOwner, ran: ReadonlyMap<string, number>): OutgoingRecord {
  return {
    key: `${prefixOf(owner)}/held-progress`,
    value: ran.size === 0 ? TOMBSTONE : JSON.stringify({ ran: Object.fromEntries(ran) }),
    partition: statePartitionOf(owner),
  };
}

export type CheckpointRecord = CheckpointOwner &
  (
    | { type: 'change'; change: EngineChange }
    | { type: 'position'; topic: string; offset: string }
    | { type: 'origin'; eventsPartition: number; offset: string }
    | { type: 'held'; input: string; held: HeldEvent | undefined }
    | { type: 'held-batch'; id: string; events: HeldInput[] | undefined }
    | { type: 'held-progress'; ran: Map<string, number> }
  );

const KINDS = new Set(['state', 'suppression', 'clock', 'position', 'origin', 'held', 'held-batch', 'held-progress']);
const INPUT = /^[^/]+\/\d{1,20}$/;

/**
 * Decodes one state-topic record; throws `INPUT_INVALID` naming the key when it is not a checkpoint.
 * `legacyEventsTopic` is the input a position of the earlier layout refers to.
 */
export function recordToCheckpoint(
  record: Pick<IncomingRecord, 'key' | 'value'>,
  legacyEventsTopic = '',
): CheckpointRecord {
  const key = record.key ?? '';
  const fail = (why: string): never => {
    throw new McpwatchError('INPUT_INVALID', `State record ${JSON.stringify(key.slice(0, 200))}: ${why}`);
  };
  let rest = key;
  let scope: KeyScope = 'session';
  const slash = rest.indexOf('/');
  const first = slash < 0 ? rest : rest.slice(0, slash);
  if ((KEY_SCOPES as readonly string[]).includes(first)) {
    scope = first as KeyScope;
    rest = rest.slice(slash + 1);
  }
  const match = /^(\d{1,9})\/([a-z]+(?:-[a-z]+)?)(?:\/([\s\S]*))?$/.exec(rest);
  if (match === null || !KINDS.has(match[2]!)) return fail('not a checkpoint key');
  const [, partitionText, kind, tail] = match;
  const owner: CheckpointOwner = { scope, partition: Number(partitionText) };
  if (record.value.length > MAX_CHECKPOINT_VALUE_BYTES) return fail('value over 1 MiB');
  const forgotten = record.value.length === 0;
  let value: unknown;
  try {
    value = forgotten ? undefined : JSON.parse(record.value.toString('utf8'));
  } catch {
    return fail('value is not JSON');
  }
  const fields = (value ?? {}) as { maxEventTime?: unknown; offset?: unknown };
  const offsetOf = (): string =>
    typeof fields.offset === 'string' && /^\d{1,20}$/.test(fields.offset) ? fields.offset : fail('no offset');
  switch (kind) {
    case 'clock':
      if (tail !== undefined || typeof fields.maxEventTime !== 'number') return fail('clock without a maxEventTime');
      return { ...owner, type: 'change', change: { type: 'clock', maxEventTime: fields.maxEventTime } };
    case 'position': {
      const topic = tail ?? legacyEventsTopic;
      if (topic === '' || forgotten) return fail('position without a topic or value');
      return { ...owner, type: 'position', topic, offset: offsetOf() };
    }
    case 'origin':
      if (tail === undefined || !/^\d{1,9}$/.test(tail) || forgotten) return fail('origin without a partition');
      return { ...owner, type: 'origin', eventsPartition: Number(tail), offset: offsetOf() };
    case 'held': {
      if (tail === undefined || !INPUT.test(tail)) return fail('held event without its input');
      if (forgotten) return { ...owner, type: 'held', input: tail, held: undefined };
      const held = value as Partial<HeldEvent>;
      if (!isHeldEvent(held)) return fail('held event without seq');
      return { ...owner, type: 'held', input: tail, held };
    }
    case 'held-batch': {
      if (tail === undefined || !INPUT.test(tail)) return fail('held batch without its first input');
      if (forgotten) return { ...owner, type: 'held-batch', id: tail, events: undefined };
      const events = (value as { events?: unknown }).events;
      if (!Array.isArray(events) || events.length === 0) return fail('held batch without events');
      for (const held of events as Partial<HeldInput>[]) {
        if (!isHeldEvent(held) || typeof held.input !== 'string' || !INPUT.test(held.input))
          return fail('held batch with an event without seq or input');
      }
      return { ...owner, type: 'held-batch', id: tail, events: events as HeldInput[] };
    }
    case 'held-progress': {
      if (tail !== undefined) return fail('held progress with a tail');
      const ran = new Map<string, number>();
      for (const [id, count] of Object.entries((value as { ran?: object } | undefined)?.ran ?? {})) {
        if (!INPUT.test(id) || !Number.isSafeInteger(count) || (count as number) < 1)
          return fail('held progress with a bad count');
        ran.set(id, count as number);
      }
      return { ...owner, type: 'held-progress', ran };
    }
  }
  const ruleMatch = /^([a-z0-9-]+)\/([\s\S]*)$/.exec(tail ?? '');
  if (ruleMatch === null) return fail('missing rule id or key');
  const [, ruleId, subject] = ruleMatch as unknown as [string, string, string];
  if (kind === 'state') {
    const entry = value as StateEntry | undefined;
    return { ...owner, type: 'change', change: { type: 'state', ruleId, key: subject, entry } };
  }
  const entry = value as SuppressionEntry | undefined;
  return { ...owner, type: 'change', change: { type: 'suppression', ruleId, subject, entry } };
}

function isHeldEvent<T extends Partial<HeldEvent>>(held: T | null): held is T & HeldEvent {
  return (
    typeof held === 'object' && held !== null && typeof held.seq === 'number' && typeof held.event?.time === 'string'
  );
}

/** What a restore hands each checkpoint to: the engine of one scope and partition. */
export interface RestoreTarget {
  apply(checkpoint: CheckpointRecord): void;
}

export interface RestoreResult {
  /** Records read that belong to the restored engines. */
  records: number;
  /** Records read that belong to engines of other instances (partitions shared by several owners). */
  foreignRecords: number;
}

/**
 * Restores engines (keyed `<scope>/<partition>`) from the state topic, reading only the state partitions
 * given: those of the partitions this instance was assigned, so restoring costs what the instance owns, not
 * what the cluster holds. Relies on the transport honouring the explicit `partition` on produce.
 */
export async function restoreCheckpoints(
  transport: Transport,
  stateTopic: string,
  statePartitions: Iterable<number>,
  targets: ReadonlyMap<string, RestoreTarget>,
  legacyEventsTopic: string,
): Promise<RestoreResult> {
  let records = 0;
  let foreignRecords = 0;
  for (const statePartition of new Set(statePartitions)) {
    for await (const record of transport.readPartition(stateTopic, statePartition)) {
      const checkpoint = recordToCheckpoint(record, legacyEventsTopic);
      const target = targets.get(`${checkpoint.scope}/${checkpoint.partition}`);
      if (target === undefined) {
        foreignRecords += 1;
        continue;
      }
      records += 1;
      target.apply(checkpoint);
    }
  }
  return { records, foreignRecords };
}
