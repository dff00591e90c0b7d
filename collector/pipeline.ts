/**
 * The collector's one pipeline: what a source decoded goes through normalize → produce here, and `submit`
 * resolves only once the event log acknowledged every event and dead letter of it (Vector's model: a source
 * answers its client, or commits its offsets, after the acknowledgement; it knows no sink). Records that
 * broke a per-record limit while decoding, or that cannot be made into a valid event, are dead-lettered one by
 * one and reported back as rejected: partial success, never a sunk batch.
 */
import type { Logger } from 'pino';
import type { CollectorMetrics } from './metrics.ts';
import type { OtlpLogs, OtlpTraces } from './otlp/model.ts';
import type { EventProducer } from './sinks/event-producer.ts';
import { normalizeLogs, normalizeTraces, type NormalizedBatch } from './transforms/normalize.ts';
import type { RetryPolicy } from '../transport/retry.ts';

export type Source = 'otlp-http' | 'kafka-otlp';

export type DecodedBatch =
  | { signal: 'span'; source: Source; exports: readonly OtlpTraces[] }
  | { signal: 'log'; source: Source; exports: readonly OtlpLogs[] };

export interface PipelineResult {
  /** Events acknowledged by the log. */
  produced: number;
  /** Records dead-lettered (and acknowledged as such). */
  rejected: number;
  /** Why the first rejected record was rejected, for the client's partial-success message. */
  firstReason: string | undefined;
}

export interface SubmitOptions {
  /** Retries a refused delivery (Kafka sources); without it a refusal is the caller's to answer (HTTP 429/503). */
  retry?: RetryPolicy;
  signal?: AbortSignal;
}

export class IngestPipeline {
  constructor(
    private readonly producer: EventProducer,
    private readonly metrics: CollectorMetrics,
    private readonly logger: Logger,
  ) {}

  /** Rejects with the producer's retriable `McpwatchError` when the log refuses (and no retry policy is given). */
  async submit(batch: DecodedBatch, options: SubmitOptions = {}): Promise<PipelineResult> {
    const normalized: NormalizedBatch = { events: [], deadLetters: [], skipped: {} };
    for (const decoded of batch.exports) {
      this.metrics.received.inc({ signal: batch.signal, source: batch.source }, decoded.recordCount);
      if (decoded.flattenedValues > 0) {
        this.metrics.flattened.inc({ signal: batch.signal }, decoded.flattenedValues);
      }
      const part =
        batch.signal === 'span' ? normalizeTraces(decoded as OtlpTraces) : normalizeLogs(decoded as OtlpLogs);
      for (const event of part.events) normalized.events.push(event);
      for (const letter of part.deadLetters) normalized.deadLetters.push(letter);
      for (const [reason, count] of Object.entries(part.skipped)) {
        this.metrics.skipped.inc({ signal: batch.signal, reason }, count);
      }
    }
    const delivery = { events: normalized.events, deadLetters: normalized.deadLetters };
    if (options.retry === undefined) await this.producer.deliver(delivery);
    else await options.retry.execute(() => this.producer.deliver(delivery), options.signal);
    const first = normalized.deadLetters[0];
    if (first !== undefined) {
      this.logger.warn(
        { signal: batch.signal, source: batch.source, rejected: normalized.deadLetters.length, reason: first.reason },
        'Records dead-lettered.',
      );
    }
    return { produced: normalized.events.length, rejected: normalized.deadLetters.length, firstReason: first?.reason };
  }
}
