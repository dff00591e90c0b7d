/**
 * The Splunk HTTP Event Collector sink: alerts (mcpwatch JSON or OCSF Detection Findings) as HEC events, with
 * indexer acknowledgement, so `deliver` resolves only once Splunk says every event is indexed (with
 * `acknowledgement: false`, for Splunk Cloud, once the collector answered 200: received, not yet indexed). With
 * `auditEvents: true`, audit events (mcpwatch JSON or OCSF API Activity) go the same way under their own sourcetype.
 *
 * One `deliver` = the alerts cut into requests below `maxBatchBytes` (gzip), each `POST /services/collector/event`
 * on this sink's request channel answering an `ackId`, then `POST /services/collector/ack` until every ack id is
 * true. A request the collector answers 413 (its `max_content_length` is below `maxBatchBytes`) is split in halves
 * and sent again, as the Azure Monitor sink does. It never retries otherwise (the runtime's retry policy does,
 * with the whole delivery, so repeats share their alert id): 408, 429, 5xx, connection failures and acks still
 * missing after `ackTimeoutMs` reject retriably with the server's `Retry-After`; 400, 401, 403, 404, 413 for a
 * single event and a token without acknowledgement enabled reject for good, since sending the same request again
 * would fail the same way.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { Alert } from '../../contracts/alert.ts';
import type { McpEvent } from '../../contracts/mcp-event.ts';
import { McpwatchError } from '../../contracts/errors.ts';
import { retriableHttpStatus, retryAfterMsOf } from '../../transport/retry.ts';
import { alertRecord, eventRecord } from './format.ts';
import {
  parseSplunkHecSinkConfig,
  splunkSourcetypesOf,
  type ResolvedSplunkHecSinkConfig,
  type SplunkHecSinkConfig,
} from './splunk-hec-config.ts';
import type { AlertSink, SinkHealth } from './types.ts';

const gzipAsync = promisify(gzip);

/** HEC answers are small JSON objects; anything longer is cut before parsing. */
const MAX_ANSWER_BYTES = 64 * 1024;

export interface SplunkHecSinkDependencies {
  /** Where `tokenEnv` is looked up; `process.env` by default. */
  env?: NodeJS.ProcessEnv;
}

export interface SplunkHecSinkStats {
  /** Event requests sent, failed ones included. */
  requests: number;
  ackQueries: number;
  /** Alerts and audit events Splunk acknowledged as indexed (repeats included). */
  acknowledged: number;
  /** Requests split in halves because the collector answered 413. */
  splits: number;
}

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

export class SplunkHecSink implements AlertSink {
  readonly name = 'splunk-hec';
  readonly channel: string;
  readonly deliverEvents?: (events: readonly McpEvent[]) => Promise<void>;
  private readonly sourcetypes: { alerts: string; events: string };
  private readonly config: ResolvedSplunkHecSinkConfig;
  private readonly token: string;
  private readonly where: string;
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly abort = new AbortController();
  private ca: Promise<string | undefined> | undefined;
  private lastFailure: string | undefined;
  private readonly counters: SplunkHecSinkStats = { requests: 0, ackQueries: 0, acknowledged: 0, splits: 0 };

  /** Validates the config (a bad one, or no token, throws `CONFIG_INVALID` here). */
  constructor(config: SplunkHecSinkConfig, dependencies: SplunkHecSinkDependencies = {}) {
    this.config = parseSplunkHecSinkConfig(config);
    const token = this.config.token ?? (dependencies.env ?? process.env)[this.config.tokenEnv];
    if (token === undefined || token === '') {
      throw new McpwatchError(
        'CONFIG_INVALID',
        `splunk-hec sink: no token (set ${this.config.tokenEnv}, or token in the sink configuration)`,
      );
    }
    this.token = token;
    this.channel = this.config.channel ?? randomUUID();
    const url = new URL(this.config.url);
    this.where = `${url.origin}${url.pathname.replace(/\/$/, '')}`; // never a query string or userinfo
    this.agent = url.protocol === 'https:' ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
    this.sourcetypes = splunkSourcetypesOf(this.config);
    if (this.config.auditEvents === true) {
      this.deliverEvents = (events) =>
        this.send(
          events.map((event) => ({
            time: Date.parse(event.time) / 1000,
            event: eventRecord(event, this.config.format),
          })),
          this.sourcetypes.events,
        );
    }
  }

  deliver(alerts: readonly Alert[]): Promise<void> {
    return this.send(
      alerts.map((alert) => ({ time: Date.parse(alert.time) / 1000, event: alertRecord(alert, this.config.format) })),
      this.sourcetypes.alerts,
    );
  }

  /** `time`: epoch seconds; an unreadable one is left out, so Splunk stamps the time of receipt. */
  private async send(records: readonly { time: number; event: unknown }[], sourcetype: string): Promise<void> {
    if (this.abort.signal.aborted) throw new McpwatchError('CLOSED', `Splunk HEC sink ${this.where} is closed`);
    if (records.length === 0) return;
    try {
      const ackIds: number[] = [];
      for (const events of this.requestsOf(records, sourcetype)) ackIds.push(...(await this.sendEvents(events)));
      if (this.config.acknowledgement) await this.awaitAcks(ackIds);
      this.counters.acknowledged += records.length;
      this.lastFailure = undefined;
    } catch (error) {
      if (this.abort.signal.aborted) throw new McpwatchError('CLOSED', `Splunk HEC sink ${this.where} is closed`);
      this.lastFailure = error instanceof Error ? error.message : String(error);
      throw error;
    }
  }

  health(): Promise<SinkHealth> {
    return Promise.resolve(
      this.lastFailure === undefined
        ? { healthy: true }
        : { healthy: false, detail: `Last delivery failed: ${this.lastFailure}` },
    );
  }

  stats(): SplunkHecSinkStats {
    return { ...this.counters };
  }

  close(): Promise<void> {
    this.abort.abort();
    this.agent.destroy();
    return Promise.resolve();
  }

  /** HEC events (one JSON line each), grouped in requests below `maxBatchBytes`; an event larger goes alone. */
  private requestsOf(records: readonly { time: number; event: unknown }[], sourcetype: string): string[][] {
    const requests: string[][] = [];
    let current: string[] = [];
    let bytes = 0;
    for (const { time, event } of records) {
      const line =
        JSON.stringify({
          ...(Number.isFinite(time) ? { time } : {}),
          ...(this.config.host === undefined ? {} : { host: this.config.host }),
          source: this.config.source,
          sourcetype,
          ...(this.config.index === undefined ? {} : { index: this.config.index }),
          event,
        }) + '\n';
      const size = Buffer.byteLength(line);
      if (current.length > 0 && bytes + size > this.config.maxBatchBytes) {
        requests.push(current);
        current = [];
        bytes = 0;
      }
      current.push(line);
      bytes += size;
    }
    if (current.length > 0) requests.push(current);
    return requests;
  }

  /** One events request, or its halves when the collector finds it too large (413); their ack ids, if awaited. */
  private async sendEvents(events: readonly string[]): Promise<number[]> {
    this.counters.requests += 1;
    const text = events.join('');
    const body = this.config.gzip ? await gzipAsync(text) : Buffer.from(text);
    const answer = await this.post('/services/collector/event', body, this.config.gzip);
    if (answer.status >= 200 && answer.status < 300) {
      if (!this.config.acknowledgement) return [];
      const ackId = (parseAnswer(answer.body) as { ackId?: unknown } | undefined)?.ackId;
      if (typeof ackId !== 'number') {
        throw new McpwatchError(
          'DELIVERY_FAILED',
          `Splunk HEC ${this.where} answered without an ackId: enable indexer acknowledgement on the token (or set acknowledgement: false where Splunk offers none)`,
          { retriable: false },
        );
      }
      return [ackId];
    }
    if (answer.status === 413 && events.length > 1) {
      this.counters.splits += 1;
      const half = Math.ceil(events.length / 2);
      return [...(await this.sendEvents(events.slice(0, half))), ...(await this.sendEvents(events.slice(half)))];
    }
    throw this.refused(
      answer.status === 413 ? 'refused an event larger than it accepts' : 'refused the events',
      answer,
    );
  }

  /** Polls the ack endpoint until every id is acknowledged, or fails retriably after `ackTimeoutMs`. */
  private async awaitAcks(ackIds: readonly number[]): Promise<void> {
    const pending = new Set(ackIds);
    const deadline = Date.now() + this.config.ackTimeoutMs;
    let lastProblem = 'not yet indexed';
    while (true) {
      this.counters.ackQueries += 1;
      let answer: Answer | undefined;
      try {
        answer = await this.post('/services/collector/ack', Buffer.from(JSON.stringify({ acks: [...pending] })), false);
      } catch (error) {
        // The events are in; only the question failed. Ask again until the deadline.
        lastProblem = error instanceof Error ? error.message : String(error);
      }
      if (answer !== undefined) {
        if (answer.status >= 200 && answer.status < 300) {
          const acks = (parseAnswer(answer.body) as { acks?: Record<string, unknown> } | undefined)?.acks ?? {};
          for (const id of [...pending]) if (acks[String(id)] === true) pending.delete(id);
          if (pending.size === 0) return;
          lastProblem = 'not yet indexed';
        } else if (retriableHttpStatus(answer.status)) {
          lastProblem = `ack query answered HTTP ${answer.status}`;
        } else {
          throw this.refused('refused the acknowledgement query', answer);
        }
      }
      if (Date.now() >= deadline) {
        throw new McpwatchError(
          'DELIVERY_FAILED',
          `Splunk HEC ${this.where} did not acknowledge ${pending.size} of ${ackIds.length} requests within ${this.config.ackTimeoutMs} ms (${lastProblem}); they are sent again`,
          { retriable: true },
        );
      }
      await sleep(Math.min(this.config.ackPollMs, Math.max(0, deadline - Date.now())), undefined, {
        signal: this.abort.signal,
      });
    }
  }

  private refused(what: string, answer: Answer): McpwatchError {
    const hec = parseAnswer(answer.body) as { text?: unknown; code?: unknown } | undefined;
    const detail = typeof hec?.text === 'string' ? ` (${hec.text.slice(0, 200)}, code ${String(hec.code)})` : '';
    const retriable = retriableHttpStatus(answer.status);
    const retryAfterMs = retriable ? retryAfterMsOf(headerValue(answer.headers['retry-after'])) : undefined;
    return new McpwatchError('DELIVERY_FAILED', `Splunk HEC ${this.where} ${what}: HTTP ${answer.status}${detail}`, {
      retriable,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }

  private async post(path: string, body: Buffer, gzipped: boolean): Promise<Answer> {
    this.ca ??= this.config.caFile === undefined ? Promise.resolve(undefined) : readFile(this.config.caFile, 'utf8');
    let ca: string | undefined;
    try {
      ca = await this.ca;
    } catch (error) {
      this.ca = undefined;
      throw new McpwatchError('DELIVERY_FAILED', `Cannot read caFile ${this.config.caFile}`, {
        cause: error,
        retriable: true,
      });
    }
    const url = new URL(this.config.url.replace(/\/$/, '') + path);
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<Answer>((resolve, reject) => {
      const outgoing = request(
        url,
        {
          method: 'POST',
          agent: this.agent,
          ...(ca === undefined ? {} : { ca }),
          headers: {
            authorization: `Splunk ${this.token}`,
            'x-splunk-request-channel': this.channel,
            'content-type': 'application/json',
            'content-length': body.length,
            ...(gzipped ? { 'content-encoding': 'gzip' } : {}),
          },
          signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.config.requestTimeoutMs)]),
        },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size <= MAX_ANSWER_BYTES) chunks.push(chunk);
          });
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              headers: response.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          response.on('error', (error) => reject(this.unreachable(path, error)));
        },
      );
      outgoing.on('error', (error) => reject(this.unreachable(path, error)));
      outgoing.end(body);
    });
  }

  private unreachable(path: string, error: Error): McpwatchError {
    return new McpwatchError('DELIVERY_FAILED', `Splunk HEC ${this.where}${path} failed: ${error.message}`, {
      cause: error,
      retriable: true,
    });
  }
}

function parseAnswer(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
