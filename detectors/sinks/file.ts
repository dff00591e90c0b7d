import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Alert } from '../../contracts/alert.ts';
import { McpwatchError } from '../../contracts/errors.ts';
import { alertRecord, type AlertFormat } from './format.ts';
import type { AlertSink, SinkHealth } from './types.ts';

/**
 * Appends alerts as JSON Lines (mcpwatch alerts or OCSF Detection Findings) and resolves only after `fsync`, so a
 * confirmed alert survives a power cut.
 */
export class FileSink implements AlertSink {
  readonly name = 'file';
  private handle: FileHandle | undefined;
  private lastError: unknown;
  /** Deliveries are written one after another, so lines never interleave. */
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    readonly path: string,
    readonly format: AlertFormat = 'mcpwatch',
  ) {}

  deliver(alerts: readonly Alert[]): Promise<void> {
    if (this.closed) return Promise.reject(new McpwatchError('CLOSED', `File sink ${this.path} is closed`));
    const run = this.queue.then(() => this.append(alerts));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async append(alerts: readonly Alert[]): Promise<void> {
    if (alerts.length === 0) return;
    const text = alerts.map((alert) => JSON.stringify(alertRecord(alert, this.format)) + '\n').join('');
    try {
      if (this.handle === undefined) {
        await mkdir(dirname(this.path), { recursive: true });
        this.handle = await open(this.path, 'a');
      }
      await this.handle.appendFile(text, 'utf8');
      await this.handle.sync();
      this.lastError = undefined;
    } catch (error) {
      this.lastError = error;
      throw new McpwatchError('DELIVERY_FAILED', `Could not append ${alerts.length} alerts to ${this.path}`, {
        cause: error,
        retriable: true,
      });
    }
  }

  health(): Promise<SinkHealth> {
    if (this.lastError === undefined) return Promise.resolve({ healthy: true });
    const reason = this.lastError instanceof Error ? this.lastError.message : 'unknown error';
    return Promise.resolve({ healthy: false, detail: `Last append to ${this.path} failed: ${reason}` });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    await this.handle?.close();
    this.handle = undefined;
  }
}
