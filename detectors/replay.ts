/**
 * `mcpwatch replay`: the same engine and rules as the live detectors, over recorded events (JSON Lines) in
 * event-time order. Bad lines are reported by line number and counted; they stop the replay only in strict mode.
 * The whole recording is held in memory to sort it (about the size of the parsed events).
 */
import { open, stat } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { Alert } from '../contracts/alert.ts';
import type { McpEvent } from '../contracts/mcp-event.ts';
import { describeIssues, MAX_EVENT_VALUE_DEPTH, McpEventParser } from '../contracts/parse.ts';
import { McpwatchError } from '../contracts/errors.ts';
import { engineOptionsOf, type DetectorsConfig } from './config.ts';
import { DetectionEngine } from './engine.ts';
import type { AlertSink } from './sinks/types.ts';

export interface ReplayOptions {
  config: DetectorsConfig;
  /** Where alerts go (e.g. a file sink for `--alerts-out`, else stdout). */
  sinks: readonly AlertSink[];
  /** Stop at the first bad line instead of counting it. */
  strict?: boolean;
  /** Lines longer than this (bytes) are bad lines, never buffered whole. Default 1 MiB. */
  maxLineBytes?: number;
  /** Progress bar target; default stderr when it is a terminal and the file is over 8 MiB. `false`: none. */
  progress?: Writable | false;
  /** Fire every pending timer after the last event (as at the end of time). Default true. */
  flushTimers?: boolean;
}

export interface BadLine {
  line: number;
  reason: string;
}

export interface ReplayReport {
  lines: number;
  events: number;
  badLines: number;
  /** The first 100 bad lines. */
  badLineSamples: BadLine[];
  alerts: number;
  alertsByRule: Record<string, number>;
  /** Events older than the watermark when replayed in order: only ties and clock skew make these. */
  lateEvents: number;
  ruleErrors: number;
}

const DEFAULT_MAX_LINE_BYTES = 1_048_576;
const PROGRESS_MIN_BYTES = 8 * 1_048_576;
const DELIVERY_CHUNK = 500;
/** A line of white space only (what `trim` removes), without copying the line. */
const BLANK = /^\s*$/;
/** Bytes read at a time: every line of one read is handled before the next, with no promise per line. */
const READ_BYTES = 1_048_576;

/**
 * Calls `onLine` with each line (without `\n`) and its number, synchronously for all the lines of one read; a
 * line over `maxBytes` comes as `undefined` and is never buffered whole.
 */
export async function forEachBoundedLine(
  path: string,
  maxBytes: number,
  onLine: (line: number, text: string | undefined) => void,
  onBytes?: (bytesRead: number) => void,
): Promise<void> {
  const handle = await open(path, 'r');
  try {
    const chunk = Buffer.allocUnsafe(READ_BYTES);
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let overlong = false;
    let line = 0;
    let bytesRead = 0;
    for (;;) {
      const { bytesRead: length } = await handle.read(chunk, 0, READ_BYTES, null);
      if (length === 0) break;
      bytesRead += length;
      onBytes?.(bytesRead);
      const data = chunk.subarray(0, length);
      let start = 0;
      for (let newline = data.indexOf(10, start); newline !== -1; newline = data.indexOf(10, start)) {
        line += 1;
        if (overlong || pendingBytes + newline - start > maxBytes) onLine(line, undefined);
        else if (pendingBytes === 0) onLine(line, data.toString('utf8', start, newline));
        else onLine(line, Buffer.concat([...pending, data.subarray(start, newline)]).toString('utf8'));
        start = newline + 1;
        pending = [];
        pendingBytes = 0;
        overlong = false;
      }
      if (overlong || start === length) continue;
      if (pendingBytes + length - start > maxBytes) {
        overlong = true;
        pending = [];
        pendingBytes = 0;
      } else {
        // Copied: the next read reuses the chunk.
        pending.push(Buffer.from(data.subarray(start)));
        pendingBytes += length - start;
      }
    }
    if (overlong) onLine(line + 1, undefined);
    else if (pendingBytes > 0) onLine(line + 1, Buffer.concat(pending).toString('utf8'));
  } finally {
    await handle.close();
  }
}

export async function replayFile(path: string, options: ReplayOptions): Promise<ReplayReport> {
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const size = (await stat(path)).size;
  const progress =
    options.progress === false
      ? undefined
      : (options.progress ?? (process.stderr.isTTY && size >= PROGRESS_MIN_BYTES ? process.stderr : undefined));
  const bar = progress === undefined ? undefined : new ProgressBar(progress);

  const report: ReplayReport = {
    lines: 0,
    events: 0,
    badLines: 0,
    badLineSamples: [],
    alerts: 0,
    alertsByRule: {},
    lateEvents: 0,
    ruleErrors: 0,
  };
  const bad = (line: number, reason: string): void => {
    if (options.strict === true) {
      throw new McpwatchError('INPUT_INVALID', `${path}:${line}: ${reason}`);
    }
    report.badLines += 1;
    if (report.badLineSamples.length < 100) report.badLineSamples.push({ line, reason });
  };

  const recorded: { event: McpEvent; time: number; line: number }[] = [];
  // Flattens as the collector does while decoding: a hostile depth must not make a rule fail and so hide the event.
  const parser = new McpEventParser(MAX_EVENT_VALUE_DEPTH);
  await forEachBoundedLine(
    path,
    maxLineBytes,
    (line, text) => {
      report.lines = line;
      if (text === undefined) {
        bad(line, `line longer than ${maxLineBytes} bytes`);
        return;
      }
      if (BLANK.test(text)) return;
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (error) {
        bad(line, `not JSON (${error instanceof Error ? error.message : String(error)})`);
        return;
      }
      const parsed = parser.parse(json);
      if (!parsed.ok) {
        bad(line, describeIssues(parsed.issues));
        return;
      }
      recorded.push({ event: parsed.value, time: Date.parse(parsed.value.time), line });
    },
    (bytes) => bar?.update('reading', bytes / size),
  );
  // Stable: events with one time keep the file's order, as one partition would have delivered them.
  recorded.sort((a, b) => a.time - b.time || a.line - b.line);

  const engine = new DetectionEngine(engineOptionsOf(options.config));
  let batch: Alert[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const alerts = batch;
    batch = [];
    await Promise.all(options.sinks.map((sink) => sink.deliver(alerts)));
    for (const alert of alerts) report.alertsByRule[alert.ruleId] = (report.alertsByRule[alert.ruleId] ?? 0) + 1;
    report.alerts += alerts.length;
  };
  for (const [index, { event }] of recorded.entries()) {
    batch.push(...engine.process(event));
    if (batch.length >= DELIVERY_CHUNK) await flush();
    if ((index & 0x3fff) === 0) bar?.update('detecting', index / recorded.length);
  }
  if (options.flushTimers ?? true) batch.push(...engine.advanceTo(Number.MAX_SAFE_INTEGER));
  await flush();
  bar?.done();
  report.events = recorded.length;
  report.lateEvents = engine.counters.lateEvents;
  report.ruleErrors = engine.counters.ruleErrors;
  return report;
}

/** One line on a terminal, redrawn at most every 100 ms. */
class ProgressBar {
  private lastDraw = 0;
  constructor(private readonly out: Writable) {}

  update(phase: string, fraction: number): void {
    const now = Date.now();
    if (now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const width = 30;
    const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
    this.out.write(
      `\r${phase.padEnd(9)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0)}%`,
    );
  }

  done(): void {
    this.out.write('\r\u001b[2K');
  }
}
