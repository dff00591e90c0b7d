import type { Alert } from '../../contracts/alert.ts';
import { McpwatchError } from '../../contracts/errors.ts';
import { retriableHttpStatus, retryAfterMsOf } from '../../transport/retry.ts';
import type { WebhookSinkConfig } from '../config.ts';
import { alertRecord } from './format.ts';
import type { AlertSink, SinkHealth } from './types.ts';

/**
 * POSTs alerts as a JSON array (of mcpwatch alerts or OCSF Detection Findings); any 2xx confirms. One attempt per
 * `deliver`: 5xx, 408, 429 and network errors reject retriably (with the receiver's `Retry-After`) and the
 * runtime's retry policy sends the batch again; other 4xx reject for good, since the same body would fail again.
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
    let response: Response;
    try {
      response = await fetch(this.config.url, {
        method: 'POST',
        headers: { ...this.config.headers, 'content-type': 'application/json' },
        body,
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.config.timeoutMs)]),
      });
      await response.body?.cancel();
    } catch (error) {
      if (this.abort.signal.aborted) throw new McpwatchError('CLOSED', `Webhook sink ${where} is closed`);
      this.lastFailure = error instanceof Error ? error.message : String(error);
      throw new McpwatchError(
        'DELIVERY_FAILED',
        `Webhook ${where} did not confirm ${alerts.length} alerts: ${this.lastFailure}`,
        { cause: error, retriable: true },
      );
    }
    if (response.ok) {
      this.lastFailure = undefined;
      return;
    }
    this.lastFailure = `HTTP ${response.status}`;
    const retriable = retriableHttpStatus(response.status);
    const retryAfterMs = retriable ? retryAfterMsOf(response.headers.get('retry-after')) : undefined;
    throw new McpwatchError(
      'DELIVERY_FAILED',
      `Webhook ${where} ${retriable ? 'did not take' : 'refused'} ${alerts.length} alerts: ${this.lastFailure}`,
      { retriable, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) },
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
