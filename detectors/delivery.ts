/**
 * Alert delivery: every sink must confirm a batch's alerts (and the sinks that carry them, its audit events)
 * before its offsets are committed. The runtime is the one owner of delivery retries: sinks make one attempt and
 * throw an `McpwatchError` whose `retriable` and `retryAfterMs` say whether and when to try again; `retryPolicy`
 * (transport/retry.ts) does the waiting.
 */
import type { Logger } from 'pino';
import type { Alert } from '../contracts/alert.ts';
import type { McpEvent } from '../contracts/mcp-event.ts';
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
  private readonly eventSinks: readonly AlertSink[];

  constructor(
    private readonly sinks: readonly AlertSink[],
    private readonly metrics: DetectorMetrics,
    private readonly log: Logger,
    private readonly options: DeliveryOptions,
  ) {
    this.eventSinks = sinks.filter((sink) => sink.deliverEvents !== undefined);
  }

  /** Resolves once every sink confirmed; a sink that confirmed is not asked again for these alerts. */
  deliver(alerts: readonly Alert[]): Promise<void> {
    return this.confirmed(this.sinks, alerts.length, 'alerts', (sink) => sink.deliver([...alerts]));
  }

  /**
   * The same for audit events, to the sinks configured to carry them (`auditEvents: true`); the runtime gives
   * the valid events of an events-topic batch only, never the re-keyed copies, which would repeat them.
   */
  deliverEvents(events: readonly McpEvent[]): Promise<void> {
    return this.confirmed(
      this.eventSinks,
      events.length,
      'audit events',
      (sink) => sink.deliverEvents?.([...events]) ?? Promise.resolve(),
    );
  }

  private async confirmed(
    sinks: readonly AlertSink[],
    count: number,
    what: string,
    send: (sink: AlertSink) => Promise<void>,
  ): Promise<void> {
    if (count === 0 || sinks.length === 0) return;
    let pending = [...sinks];
    const policy = retryPolicy(this.options);
    policy.onRetry(({ error, delayMs, attempt }) => {
      this.log.warn(
        { err: error, sinks: pending.map((sink) => sink.name), attempt, delayMs, count },
        `Delivery of ${what} failed; retrying, offsets stay uncommitted.`,
      );
    });
    await policy.execute(async () => {
      const results = await Promise.allSettled(pending.map(send));
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
        `Sinks ${failed.map((sink) => sink.name).join(', ')} did not confirm ${count} ${what}`,
        {
          cause: errors[0],
          retriable: errors.every(isRetriable),
          ...(retryAfter.length === 0 ? {} : { retryAfterMs: Math.max(...retryAfter) }),
        },
      );
    });
  }
}
