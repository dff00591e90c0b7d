import { setTimeout as sleep } from 'node:timers/promises';
import type { Alert } from '../../contracts/alert.ts';
import { McpwatchError } from '../../contracts/errors.ts';
import type { WebhookSinkConfig } from '../config.ts';
import { alertRecord } from './format.ts';
import type { AlertSink, SinkHealth } from './types.ts';

/** Statuses worth another attempt: the receiver may accept the same body later. */
function retriableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/**
 * POSTs alerts as a JSON array (of mcpwatch alerts or OCSF Detection Findings); any 2xx confirms. Retries 5xx, 408, 429 and network errors with exponential
 * backoff (honouring a numeric `Retry-After`, capped); other 4xx fail at once: the same body would fail again.
 */
export class WebhookSink implements AlertSink {
  readonly name = 'webhook';
  private lastFailure: string | undefined;
  private readonly abort = new AbortController();

  constructor(private readonly config: Omit<WebhookSinkConfig, 'type'>) {}

  async deliver(alerts: readonly Alert[]): Promise<void> {
    if (alerts.length === 0) return;
    const body = JSON.stringify(alerts.map((alert) => alertRecord(alert, this.config.format ?? 'mcpwatch')));
    const target = new URL(this.config.url);
    const where = `${target.origin}${target.pathname}`; // never log a query string: it may carry a secret
    let failure = '';
    for (let attempt = 1; attempt <= this.config.maxAttempts; attempt += 1) {
      let retryAfterMs: number | undefined;
      try {
        const response = await fetch(this.config.url, {
          method: 'POST',
          headers: { ...this.config.headers, 'content-type': 'application/json' },
          body,
          signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.config.timeoutMs)]),
        });
        await response.body?.cancel();
        if (response.ok) {
          this.lastFailure = undefined;
          return;
        }
        failure = `HTTP ${response.status}`;
        if (!retriableStatus(response.status)) {
          this.lastFailure = failure;
          throw new McpwatchError('DELIVERY_FAILED', `Webhook ${where} refused ${alerts.length} alerts: ${failure}`, {
            retriable: false,
          });
        }
        const retryAfter = Number(response.headers.get('retry-after'));
        if (Number.isFinite(retryAfter) && retryAfter > 0) retryAfterMs = Math.min(retryAfter * 1000, 60_000);
      } catch (error) {
        if (error instanceof McpwatchError) throw error;
        if (this.abort.signal.aborted) throw new McpwatchError('CLOSED', `Webhook sink ${where} is closed`);
        failure = error instanceof Error ? error.message : String(error);
      }
      if (attempt < this.config.maxAttempts) await sleep(retryAfterMs ?? this.config.backoffMs * 2 ** (attempt - 1));
    }
    this.lastFailure = failure;
    throw new McpwatchError(
      'DELIVERY_FAILED',
      `Webhook ${where} did not confirm ${alerts.length} alerts after ${this.config.maxAttempts} attempts: ${failure}`,
      { retriable: true },
    );
  }

  health(): Promise<SinkHealth> {
    return Promise.resolve(
      this.lastFailure === undefined
        ? { healthy: true }
        : { healthy: false, detail: `Last delivery failed: ${this.lastFailure}` },
    );
  }

  close(): Promise<void> {
    this.abort.abort();
    return Promise.resolve();
  }
}
