/**
 * The Azure Monitor sink: alerts (and, with `auditEvents: true`, audit events) into Log Analytics custom tables through the
 * Logs Ingestion API, where Microsoft Sentinel reads them.
 *
 * `deliver` resolves once the rows are fsynced in an on-disk spool; a single flusher then uploads them in
 * batches below the 1 MB request limit, one `upload()` = one request with a clear outcome (the SDK's own retries
 * are off, this sink owns them): 408/429/5xx/network errors retry with the one backoff of `transport/retry.ts` (jitter, `Retry-After` as a floor); 413
 * splits the batch; 400 bisects it down to the row the service refuses, which is dead-lettered; 401/403/404
 * stop sending, keep everything and turn `health()` unhealthy. Rows leave the spool only when the service
 * answered 204 or the row was dead-lettered, so delivery is at least once and repeats share their `AlertId`.
 */
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TokenCredential } from '@azure/identity';
import { DefaultAzureCredential } from '@azure/identity';
import { LogsIngestionClient } from '@azure/monitor-ingestion';
import { pino, type Logger } from 'pino';
import type { Alert } from '../../contracts/alert.ts';
import { ALERTS_TABLE, EVENTS_TABLE, toRow } from '../../contracts/log-analytics.ts';
import type { McpEvent } from '../../contracts/mcp-event.ts';
import { McpwatchError } from '../../contracts/errors.ts';
import type { AlertSink, SinkHealth } from './types.ts';
import {
  parseAzureMonitorSinkConfig,
  type AzureMonitorSinkConfig,
  type ResolvedAzureMonitorSinkConfig as ResolvedConfig,
} from './azure-monitor-config.ts';
import { Spool, type SpooledRow } from './azure-monitor/spool.ts';
import { retryDelayMs } from '../../transport/retry.ts';
import { classifyUploadError, type UploadFailure } from './azure-monitor/upload-outcome.ts';

export interface AzureMonitorSinkDependencies {
  /** Overrides the credential the config implies (tests, or an application that already holds one). */
  credential?: TokenCredential;
  logger?: Logger;
}

export interface AzureMonitorSinkStats {
  /** Rows accepted into the spool. */
  spooled: number;
  /** Rows the service answered 204 for (repeats after a crash included). */
  uploaded: number;
  requests: number;
  retries: number;
  /** Batches split because the service answered 413. */
  splits: number;
  /** Rows written to the dead-letter file; never silently dropped. */
  deadLettered: number;
  /** Rows waiting in the spool now. */
  pending: number;
}

type Batch = readonly SpooledRow[];

/**
 * The sink for a synchronous factory such as `createSinks`: the config is validated now (a bad one throws
 * `CONFIG_INVALID` here), the spool is opened in the background. Until it is open `deliver` waits; if it cannot
 * be opened (unwritable directory, unreadable CA file) `deliver` rejects retriably and `health()` says why.
 */
export function createAzureMonitorSink(
  config: AzureMonitorSinkConfig,
  dependencies: AzureMonitorSinkDependencies = {},
): AlertSink {
  const resolved = parseAzureMonitorSinkConfig(config);
  const opening = AzureMonitorSink.open(config, dependencies);
  opening.catch(() => undefined);
  const opened = async (): Promise<AzureMonitorSink> => {
    try {
      return await opening;
    } catch (error) {
      throw new McpwatchError('DELIVERY_FAILED', 'The Azure Monitor sink could not open its spool.', {
        cause: error,
        retriable: true,
      });
    }
  };
  return {
    name: 'azure-monitor',
    deliver: async (alerts) => (await opened()).deliver(alerts),
    ...(resolved.auditEvents === true
      ? { deliverEvents: async (events: readonly McpEvent[]) => (await opened()).deliverEvents?.(events) }
      : {}),
    health: () =>
      opening.then(
        (sink) => sink.health(),
        (error: unknown) => ({ healthy: false, detail: `the sink could not start: ${String(error)}` }),
      ),
    close: async () => (await opening.catch(() => undefined))?.close(),
  };
}

export class AzureMonitorSink implements AlertSink {
  readonly name = 'azure-monitor';
  /** Audit events into the events table, with `auditEvents: true`; same guarantees as alerts. */
  readonly deliverEvents?: (events: readonly McpEvent[]) => Promise<void>;
  private readonly counters = { spooled: 0, uploaded: 0, requests: 0, retries: 0, splits: 0, deadLettered: 0 };
  private closing = false;
  private stopped: { detail: string; until: number } | undefined;
  private consecutiveFailures = 0;
  private lastFailure = '';
  /** Ends an idle sleep: new rows, resume, close. */
  private wakeOnRows: (() => void) | undefined;
  /** Ends a backoff sleep: close only. */
  private wakeOnClose: (() => void) | undefined;
  private readonly abort = new AbortController();
  private readonly flusher: Promise<void>;
  private readonly idleWaiters: (() => void)[] = [];

  private constructor(
    private readonly config: ResolvedConfig,
    private readonly client: LogsIngestionClient,
    private readonly spool: Spool,
    private readonly deadLetterFile: string,
    private readonly log: Logger,
  ) {
    if (config.auditEvents === true) {
      this.deliverEvents = (events) =>
        this.enqueue(
          config.eventsStream,
          events.map((event) => toRow(EVENTS_TABLE, event)),
        );
    }
    this.flusher = this.flushLoop().catch((error: unknown) => {
      this.log.error({ err: error }, 'Azure Monitor flusher failed; rows stay in the spool for the next start.');
    });
  }

  /** Validates the config, opens (and recovers) the spool and starts flushing what it holds. */
  static async open(
    config: AzureMonitorSinkConfig,
    dependencies: AzureMonitorSinkDependencies = {},
  ): Promise<AzureMonitorSink> {
    const resolved = parseAzureMonitorSinkConfig(config);
    const log = (dependencies.logger ?? pino({ level: 'info' })).child({ sink: 'azure-monitor' });
    const credential =
      dependencies.credential ??
      new DefaultAzureCredential(
        resolved.managedIdentityClientId === undefined
          ? {}
          : { managedIdentityClientId: resolved.managedIdentityClientId },
      );
    const ca = resolved.caFile === undefined ? undefined : await readFile(resolved.caFile, 'utf8');
    const client = new LogsIngestionClient(resolved.endpoint, credential, {
      audience: resolved.audience,
      retryOptions: { maxRetries: 0 },
      ...(ca === undefined ? {} : { tlsOptions: { ca } }),
    });
    const { spool, recovery } = await Spool.open(resolved.spool);
    const deadLetterFile = resolved.deadLetterFile ?? join(resolved.spool.directory, 'dead-letter.jsonl');
    const sink = new AzureMonitorSink(resolved, client, spool, deadLetterFile, log);
    for (const line of recovery.unreadable) await sink.deadLetter({ stream: 'unknown', line }, 'unreadable in spool');
    if (recovery.pending > 0 || recovery.tornTail) {
      log.info(
        { pending: recovery.pending, tornTail: recovery.tornTail, spool: resolved.spool.directory },
        'Azure Monitor spool recovered; sending what was not yet acknowledged.',
      );
    }
    return sink;
  }

  deliver(alerts: readonly Alert[]): Promise<void> {
    return this.enqueue(
      this.config.alertsStream,
      alerts.map((alert) => toRow(ALERTS_TABLE, alert)),
    );
  }

  health(): Promise<SinkHealth> {
    const where = `${this.spool.size} rows kept in ${this.config.spool.directory}`;
    if (this.stopped !== undefined)
      return Promise.resolve({ healthy: false, detail: `${this.stopped.detail}; ${where}` });
    if (this.spool.full) {
      return Promise.resolve({ healthy: false, detail: `the spool is full; ${where}; alerts are being refused` });
    }
    if (this.consecutiveFailures >= this.config.unhealthyAfterFailures) {
      return Promise.resolve({
        healthy: false,
        detail: `${this.consecutiveFailures} requests in a row failed (last: ${this.lastFailure}); ${where}`,
      });
    }
    return Promise.resolve({ healthy: true });
  }

  stats(): AzureMonitorSinkStats {
    return { ...this.counters, pending: this.spool.size };
  }

  /** Resolves when the spool is empty or sending is stopped (tests, demos, graceful shutdown). */
  whenIdle(): Promise<void> {
    if (this.spool.size === 0 || this.stopped !== undefined || this.closing) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Sends again now after 401/403/404 instead of waiting for `stoppedProbeMs` (e.g. after granting the role). */
  resume(): void {
    this.stopped = undefined;
    this.wakeOnRows?.();
  }

  async close(): Promise<void> {
    if (this.closing) return this.flusher;
    this.closing = true;
    const timer = setTimeout(() => this.abort.abort(), this.config.closeTimeoutMs);
    this.wakeOnRows?.();
    this.wakeOnClose?.();
    await this.flusher;
    clearTimeout(timer);
    await this.spool.close();
    this.settleIdle();
  }

  private async enqueue(stream: string, rows: Record<string, unknown>[]): Promise<void> {
    if (this.closing) {
      throw new McpwatchError('DELIVERY_FAILED', 'The Azure Monitor sink is closed.', { retriable: false });
    }
    const fitting: { stream: string; row: Record<string, unknown> }[] = [];
    for (const row of rows) {
      // A row no request can carry would block the spool forever: it goes to the dead-letter file instead.
      if (Buffer.byteLength(JSON.stringify(row)) + 2 > this.config.maxBatchBytes) {
        await this.deadLetter({ stream, row }, `row larger than maxBatchBytes (${this.config.maxBatchBytes})`);
      } else fitting.push({ stream, row });
    }
    if (fitting.length === 0) return;
    try {
      await this.spool.append(fitting);
    } catch (error) {
      if (error instanceof McpwatchError) throw error;
      throw new McpwatchError('DELIVERY_FAILED', 'Could not write alerts to the Azure Monitor spool.', {
        cause: error,
        retriable: true,
      });
    }
    this.counters.spooled += fitting.length;
    this.wakeOnRows?.();
  }

  private async flushLoop(): Promise<void> {
    while (true) {
      if (this.closing && (this.spool.size === 0 || this.abort.signal.aborted || this.stopped !== undefined)) return;
      if (this.stopped !== undefined && Date.now() >= this.stopped.until) this.stopped = undefined;
      if (this.spool.size === 0 || this.stopped !== undefined) {
        this.settleIdle();
        await this.sleep('rows', this.stopped === undefined ? undefined : this.stopped.until - Date.now());
        continue;
      }
      try {
        await this.sendBatches([this.nextBatch()]);
      } catch (error) {
        // The spool or the dead-letter file could not be written: keep the rows, report, try again later.
        this.consecutiveFailures += 1;
        this.lastFailure = `local I/O: ${String(error)}`;
        this.log.error({ err: error }, 'Azure Monitor flush failed locally; rows kept, retrying.');
        if (this.closing) return;
        await this.sleep('close', retryDelayMs(this.config.retry, this.consecutiveFailures, undefined));
      }
    }
  }

  /** The oldest rows of one stream that fit one request. */
  private nextBatch(): Batch {
    const pending = this.spool.peek();
    const stream = pending[0]!.stream;
    let bytes = 2;
    let end = 0;
    while (end < pending.length && pending[end]!.stream === stream) {
      const next = bytes + pending[end]!.bytes + (end === 0 ? 0 : 1);
      if (next > this.config.maxBatchBytes) break;
      bytes = next;
      end += 1;
    }
    // A row beyond maxBatchBytes (spooled under a larger setting) goes alone; the service's 413 dead-letters it.
    return pending.slice(0, Math.max(end, 1));
  }

  /**
   * Works through batches oldest first, so that acknowledging a batch always acknowledges a prefix of the spool.
   * Splitting (413) and bisecting (400) put the halves at the front.
   */
  private async sendBatches(work: Batch[]): Promise<void> {
    let attempt = 0;
    while (work.length > 0) {
      if (this.abort.signal.aborted) return;
      const batch = work[0]!;
      const failure = await this.upload(batch);
      if (failure === undefined) {
        work.shift();
        attempt = 0;
        this.counters.uploaded += batch.length;
        await this.spool.ack(batch.at(-1)!.seq + 1);
        continue;
      }
      switch (failure.kind) {
        case 'retry': {
          attempt += 1;
          const delay = retryDelayMs(this.config.retry, attempt, failure.retryAfterMs);
          this.counters.retries += 1;
          this.log.warn(
            { detail: failure.detail, rows: batch.length, delayMs: Math.round(delay) },
            'Upload failed; retrying.',
          );
          await this.sleep('close', delay);
          if (this.closing) {
            // Shutting down mid-outage: what is left stays in the spool for the next start.
            this.abort.abort();
            return;
          }
          break;
        }
        case 'too-large':
        case 'rejected':
          work.shift();
          if (batch.length === 1) {
            await this.deadLetter(batch[0]!, failure.detail);
            await this.spool.ack(batch[0]!.seq + 1);
          } else {
            if (failure.kind === 'too-large') this.counters.splits += 1;
            const half = Math.ceil(batch.length / 2);
            work.unshift(batch.slice(0, half), batch.slice(half));
          }
          break;
        case 'stop':
          this.stopped = {
            detail: `Azure Monitor refused the upload (${failure.detail}); sending is stopped until the identity has the Monitoring Metrics Publisher role on the data collection rule and the endpoint, rule id and stream are right`,
            until: Date.now() + this.config.stoppedProbeMs,
          };
          this.log.error(
            { status: failure.status, detail: failure.detail },
            'Azure Monitor refused the upload; sending stopped, rows kept.',
          );
          return;
      }
    }
  }

  /** One request; undefined when the service answered 204. */
  private async upload(batch: Batch): Promise<UploadFailure | undefined> {
    this.counters.requests += 1;
    try {
      await this.client.upload(
        this.config.dcrImmutableId,
        batch[0]!.stream,
        batch.map(({ row }) => row),
        {
          maxConcurrency: 1,
          abortSignal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.config.requestTimeoutMs)]),
        },
      );
      this.consecutiveFailures = 0;
      return undefined;
    } catch (error) {
      const failure = classifyUploadError(error);
      if (failure.kind === 'retry' || failure.kind === 'stop') {
        this.consecutiveFailures += 1;
        this.lastFailure = failure.detail;
      }
      return failure;
    }
  }

  private async deadLetter(entry: { stream: string; row?: unknown; line?: string }, reason: string): Promise<void> {
    const record = JSON.stringify({ time: new Date().toISOString(), reason, ...entry }) + '\n';
    const handle = await open(this.deadLetterFile, 'a');
    try {
      await handle.write(record);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    this.counters.deadLettered += 1;
    this.log.warn({ stream: entry.stream, reason, deadLetterFile: this.deadLetterFile }, 'Row dead-lettered.');
  }

  /** Sleeps until `ms` passes (forever when undefined) or close; an idle sleep also ends when rows arrive. */
  private sleep(until: 'rows' | 'close', ms: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakeOnRows = undefined;
        this.wakeOnClose = undefined;
        resolve();
      };
      const timer = ms === undefined ? undefined : setTimeout(done, Math.max(0, ms));
      this.wakeOnClose = done;
      if (until === 'rows') this.wakeOnRows = done;
      if (this.closing) done();
    });
  }

  private settleIdle(): void {
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
