import { HEADERS } from './topics.ts';
import type { IncomingRecord, Producer } from './types.ts';

/** Which part of the pipeline gave up on a record. */
export type DeadLetterStage = 'collector' | 'detectors';

/** Header values are bounded so that a hostile record cannot make its dead letter larger than itself. */
const MAX_REASON_LENGTH = 2048;

/** `reason`, bounded for a header: the one place the bound is applied (collector and detectors). */
export function deadLetterReason(reason: string): string {
  return reason.length > MAX_REASON_LENGTH ? `${reason.slice(0, MAX_REASON_LENGTH)}…` : reason;
}

/**
 * Produces `record` unchanged (key, value, original headers) to the dead-letter `topic`, adding why, which
 * stage gave up and where it came from. Resolves once the dead letter is acknowledged, so the caller may then
 * commit past the record: it is kept, not dropped.
 */
export async function deadLetter(
  producer: Producer,
  topic: string,
  record: IncomingRecord,
  stage: DeadLetterStage,
  reason: string,
): Promise<void> {
  await producer.send(topic, [
    {
      key: record.key,
      value: record.value,
      headers: {
        ...record.headers,
        [HEADERS.deadLetterReason]: deadLetterReason(reason),
        [HEADERS.deadLetterStage]: stage,
        [HEADERS.deadLetterSource]: `${record.topic}/${record.partition}/${record.offset}`,
      },
    },
  ]);
}
