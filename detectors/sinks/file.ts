import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Alert } from '../../contracts/alert.ts';
import type { McpEvent } from '../../contracts/mcp-event.ts';
import { McpwatchError } from '../../contracts/errors.ts';
import { alertRecord, eventRecord, type AlertFormat } from './format.ts';
import type { AlertSink, SinkHealth } from './types.ts';

/** One JSON Lines file appended to one delivery after another, so lines never interleave. */
class JsonLinesFile {
  private handle: FileHandle | undefined;
  lastError: unknown;
  private queue: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  append(records: readonly unknown[], what: string): Promise<void> {
    const run = this.queue.then(() => this.write(records, what));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async write(records: readonly unknown[], what: string): Promise<void> {
    if (records.length === 0) return;
    const text = records.map((record) => JSON.stringify(record) + '\n').join('');
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
      throw new McpwatchError('DELIVERY_FAILED', `Could not append ${records.length} ${what} to ${this.path}`, {
        cause: error,
        retriable: true,
      });
    }
  }

  async close(): Promise<void> {
    await this.queue;
    await this.handle?.close();
    this.handle = undefined;
  }
}

/**
 * Appends alerts as JSON Lines (mcpwatch alerts or OCSF Detection Findings) and resolves only after `fsync`, so a
 * confirmed alert survives a power cut. Given `eventsPath`, audit events likewise go to that file (mcpwatch events
 * or OCSF API Activity).
 */
export class FileSink implements AlertSink {
  readonly name = 'file';
  readonly deliverEvents?: (events: readonly McpEvent[]) => Promise<void>;
  private readonly alertsFile: JsonLinesFile;
  private readonly eventsFile: JsonLinesFile | undefined;
  private closed = false;

  constructor(
    readonly path: string,
    readonly format: AlertFormat = 'mcpwatch',
    eventsPath?: string,
  ) {
    this.alertsFile = new JsonLinesFile(path);
    if (eventsPath !== undefined) {
      const eventsFile = new JsonLinesFile(eventsPath);
      this.eventsFile = eventsFile;
      this.deliverEvents = (events) =>
        this.append(
          eventsFile,
          events.map((event) => eventRecord(event, format)),
          'audit events',
        );
    }
  }

  deliver(alerts: readonly Alert[]): Promise<void> {
    return this.append(
      this.alertsFile,
      alerts.map((alert) => alertRecord(alert, this.format)),
      'alerts',
    );
  }

  private append(file: JsonLinesFile, records: readonly unknown[], what: string): Promise<void> {
    if (this.closed) return Promise.reject(new McpwatchError('CLOSED', `File sink ${file.path} is closed`));
    return file.append(records, what);
  }

  health(): Promise<SinkHealth> {
    for (const file of [this.alertsFile, this.eventsFile]) {
      if (file?.lastError === undefined) continue;
      const reason = file.lastError instanceof Error ? file.lastError.message : 'unknown error';
      return Promise.resolve({ healthy: false, detail: `Last append to ${file.path} failed: ${reason}` });
    }
    return Promise.resolve({ healthy: true });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([this.alertsFile.close(), this.eventsFile?.close()]);
  }
}
