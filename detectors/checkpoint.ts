/**
 * Engine state as records of the compacted state topic. One events partition's checkpoint is a set of keys
 * prefixed by its number, written to the state partition of the same number:
 *
 * | key | value |
 * | --- | --- |
 * | `<p>/state/<ruleId>/<key>` | `StateEntry` JSON; null (tombstone) when the key was forgotten |
 * | `<p>/suppression/<ruleId>/<subject>` | `SuppressionEntry` JSON; null when it expired |
 * | `<p>/clock` | `{ maxEventTime }`: the engine's event time |
 * | `<p>/position` | `{ offset }`: the next events offset the state does not include yet |
 *
 * `position` is written only after the state records are acknowledged, so a restored state always includes
 * every event before `position` (and possibly some after it, when a crash fell between the two writes).
 */
import { McpwatchError } from '../contracts/errors.ts';
import type { IncomingRecord, OutgoingRecord, Transport } from '../transport/types.ts';
import type { DetectionEngine, EngineChange, StateEntry, SuppressionEntry } from './engine.ts';

/** A checkpoint value larger than this is refused when read back: a rule's state must stay small. */
const MAX_CHECKPOINT_VALUE_BYTES = 1_048_576;

export function changeToRecord(partition: number, change: EngineChange): OutgoingRecord {
  switch (change.type) {
    case 'clock':
      return {
        key: `${partition}/clock`,
        value: JSON.stringify({ maxEventTime: change.maxEventTime }),
        partition,
      };
    case 'state':
      return {
        key: `${partition}/state/${change.ruleId}/${change.key}`,
        value: change.entry === undefined ? tombstone() : JSON.stringify(change.entry),
        partition,
      };
    case 'suppression':
      return {
        key: `${partition}/suppression/${change.ruleId}/${change.subject}`,
        value: change.entry === undefined ? tombstone() : JSON.stringify(change.entry),
        partition,
      };
  }
}

export function positionRecord(partition: number, nextOffset: string): OutgoingRecord {
  return { key: `${partition}/position`, value: JSON.stringify({ offset: nextOffset }), partition };
}

/**
 * The seam's value is `Buffer | string`; a Kafka tombstone is a null value. An empty value stands for it here
 * and compaction treats it as a live key: harmless, because decoding reads an empty value as "forgotten".
 */
function tombstone(): string {
  return '';
}

export type CheckpointRecord =
  { partition: number; type: 'change'; change: EngineChange } | { partition: number; type: 'position'; offset: string };

/** Decodes one state-topic record; throws `INPUT_INVALID` naming the key when it is not a checkpoint. */
export function recordToCheckpoint(record: Pick<IncomingRecord, 'key' | 'value'>): CheckpointRecord {
  const key = record.key ?? '';
  const fail = (why: string): never => {
    throw new McpwatchError('INPUT_INVALID', `State record ${JSON.stringify(key.slice(0, 200))}: ${why}`);
  };
  const match = /^(\d+)\/(state|suppression|clock|position)(?:\/([a-z0-9-]+)\/([\s\S]*))?$/.exec(key);
  if (match === null) return fail('not a checkpoint key');
  const [, partitionText, kind, ruleId, subject] = match;
  const partition = Number(partitionText);
  if (record.value.length > MAX_CHECKPOINT_VALUE_BYTES) return fail('value over 1 MiB');
  const forgotten = record.value.length === 0;
  let value: unknown;
  try {
    value = forgotten ? undefined : JSON.parse(record.value.toString('utf8'));
  } catch {
    return fail('value is not JSON');
  }
  if (kind === 'clock' || kind === 'position') {
    if (ruleId !== undefined || forgotten) return fail(`a ${kind} record must have no rule and a value`);
    const fields = value as { maxEventTime?: unknown; offset?: unknown };
    if (kind === 'clock') {
      if (typeof fields.maxEventTime !== 'number') return fail('clock without a numeric maxEventTime');
      return { partition, type: 'change', change: { type: 'clock', maxEventTime: fields.maxEventTime } };
    }
    if (typeof fields.offset !== 'string' || !/^\d+$/.test(fields.offset)) return fail('position without an offset');
    return { partition, type: 'position', offset: fields.offset };
  }
  if (ruleId === undefined || subject === undefined) return fail('missing rule id or key');
  if (kind === 'state') {
    const entry = value as StateEntry | undefined;
    return { partition, type: 'change', change: { type: 'state', ruleId, key: subject, entry } };
  }
  const entry = value as SuppressionEntry | undefined;
  return { partition, type: 'change', change: { type: 'suppression', ruleId, subject, entry } };
}

export interface RestoreResult {
  /** Records read that belong to the restored partitions. */
  records: number;
  /** The next events offset per restored partition (absent: nothing checkpointed yet). */
  positions: Map<number, bigint>;
}

/**
 * Restores the engines of `engines` (events partition → engine) from the state topic. Reads every partition of
 * the state topic once: a transport that ignores the explicit `partition` on produce still restores correctly
 * (records are routed by their key prefix), at the price of reading other partitions' checkpoints too.
 */
export async function restoreEngines(
  transport: Transport,
  stateTopic: string,
  engines: ReadonlyMap<number, DetectionEngine>,
): Promise<RestoreResult> {
  const positions = new Map<number, bigint>();
  let records = 0;
  const statePartitions = await transport.partitionCount(stateTopic);
  for (let statePartition = 0; statePartition < statePartitions; statePartition += 1) {
    for await (const record of transport.readPartition(stateTopic, statePartition)) {
      const checkpoint = recordToCheckpoint(record);
      const engine = engines.get(checkpoint.partition);
      if (engine === undefined) continue;
      records += 1;
      if (checkpoint.type === 'position') positions.set(checkpoint.partition, BigInt(checkpoint.offset));
      else engine.restore(checkpoint.change);
    }
  }
  return { records, positions };
}
