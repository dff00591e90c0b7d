/**
 * Alert delivery: every sink must confirm a batch's alerts before its offsets are committed. The runtime is
 * the one owner of delivery retries: sinks make one attempt and throw an `McpwatchError` whose `retriable`
 * and `retryAfterMs` say whether and when to try again; `retryPolicy` (transport/retry.ts) does the waiting.
 */
import type { Logger } from 'pino';
import type { Alert } from '../contracts/alert.ts';
import { McpwatchError } from '../contracts/errors.ts';
import { isRetriable, retryPolicy } from '../transport/retry.ts';
import type { DetectorMetrics } from './metrics.ts';
import type { AlertSink } from './sinks/types.ts';

export interface DeliveryOptions {
  /** Attempts in all before the consumer stops (uncommitted, so nothing is lost). */
  attempts: number;
  /** Ceiling of the first wait (ms), doubled per failure, jittered. */
  baseDelayMs: number;
  /** Ceiling of any wait (ms). */
  maxDelayMs: number;
}

export class AlertDelivery {
  constructor(
    private readonly sinks: readonly AlertSink[],
    private readonly metrics: DetectorMetrics,
    private readonly log: Logger,
    private readonly options: DeliveryOptions,
  ) {}

  /** Resolves once every sink confirmed; a sink that confirmed is not asked again for these alerts. */
  async deliver(alerts: readonly Alert[]): Promise<void> {
    if (alerts.length === 0) return;
    let pending = [...this.sinks];
    const policy = retryPolicy(this.options);
    policy.onRetry(({ error, delayMs, attempt }) => {
      this.log.warn(
        { err: error, sinks: pending.map((sink) => sink.name), attempt, delayMs, alerts: alerts.length },
        'Alert delivery failed; retrying, offsets stay uncommitted.',
      );
    });
    await policy.execute(async () => {
      const results = await Promise.allSettled(pending.map((sink) => sink.deliver([...alerts])));
      const failed = pending.filter((_, index) => results[index]!.status === 'rejected');
      if (failed.length === 0) return;
      const errors = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
      for (const sink of failed) this.metrics.deliveryFailures.inc({ sink: sink.name });
      pending = failed;
      const retryAfter = errors.flatMap((error) =>
        error instanceof McpwatchError && error.retryAfterMs !== undefined ? [error.retryAfterMs] : [],
      );
      throw new McpwatchError(
        'DELIVERY_FAILED',
        `Sinks ${failed.map((sink) => sink.name).join(', ')} did not confirm ${alerts.length} alerts`,
        {
          cause: errors[0],
          retriable: errors.every(isRetriable),
          ...(retryAfter.length === 0 ? {} : { retryAfterMs: Math.max(...retryAfter) }),
        },
      );
    });
  }
}
