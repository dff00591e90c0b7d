/** Helpers of the gateway's tests: `mcpwatch serve` in this process, the CLI as a child, a scripted stdio client. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { startServe } from '../../cli/serve.ts';
import type { RunningServe } from '../../cli/serve.ts';
import type { McpEvent } from '../../contracts/mcp-event.ts';
import { parseMcpEvent } from '../../contracts/parse.ts';
import { TOPICS } from '../../transport/topics.ts';
import { waitFor } from './wait-for.ts';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const cli = fileURLToPath(new URL('../../cli/main.ts', import.meta.url));

export interface WatchedServe {
  serve: RunningServe;
  /** Every event the collector produced, in order. */
  events: McpEvent[];
  close(): Promise<void>;
}

/** `mcpwatch serve` on ephemeral ports, with a consumer of its own that records every event. */
export async function startWatchedServe(): Promise<WatchedServe> {
  const serve = await startServe({ host: '127.0.0.1', port: 0, dashboardPort: false, logger: pino({ level: 'warn' }) });
  const events: McpEvent[] = [];
  const consumer = await serve.transport.consumer({ groupId: `proxy-test-${randomUUID()}`, topics: [TOPICS.events] });
  const running = consumer.run({
    onBatch: async ({ topic, partition, records }) => {
      for (const record of records) {
        const parsed = parseMcpEvent(JSON.parse(record.value.toString('utf8')) as unknown);
        if (parsed.ok) events.push(parsed.value);
      }
      await consumer.commit([{ topic, partition, offset: String(BigInt(records.at(-1)!.offset) + 1n) }]);
    },
  });
  return {
    serve,
    events,
    close: async () => {
      await consumer.close();
      await running.catch(() => undefined);
      await serve.close();
    },
  };
}

/** Starts a node process that announces its URL on stdout (`listening <url>` or `{"url": ...}`). */
export async function startAnnouncing(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => (err = (err + chunk.toString()).slice(-4000)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`did not start: ${out} ${err}`)), 120_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening (\S+)|"url":"([^"]+)"/.exec(out);
      const found = match?.[1] ?? match?.[2];
      if (found !== undefined) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${String(code)}: ${out} ${err}`));
    });
  });
  return { url, child };
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** The environment of a proxied process exporting to `otlpUrl` quickly; the test runner's Kafka is none of its business. */
export function exportEnv(otlpUrl: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { KAFKA_BROKERS: _brokers, ...env } = process.env;
  return {
    ...env,
    OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl,
    OTEL_BSP_SCHEDULE_DELAY: '50',
    OTEL_BLRP_SCHEDULE_DELAY: '50',
    OTEL_METRICS_EXPORTER: 'none',
    MCPWATCH_HMAC_KEY: 'proxy-test-key-proxy-test-key-proxy-test-key',
    MCPWATCH_CAPTURE_CONTENT: 'true',
    ...extra,
  };
}

/** `mcpwatch proxy <args>` as node would run the CLI from source. */
export const proxyCommand = (...args: string[]): string[] => ['--import', 'tsx', cli, 'proxy', ...args];

/**
 * A scripted client over a child's stdio: sends one line at a time and, for a request, waits for the response
 * with its id before going on, so the same script gives the same conversation. Keeps every stdout byte.
 */
export class StdioTranscript {
  readonly child: ChildProcess;
  readonly #stdout: Buffer[] = [];
  #text = '';
  #stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: string[], env: NodeJS.ProcessEnv, command = process.execPath, cwd = root) {
    this.child = spawn(command, args, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.#stdout.push(chunk);
      this.#text += chunk.toString('utf8');
    });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString('utf8')).slice(-8000);
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get bytes(): Buffer {
    return Buffer.concat(this.#stdout);
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** The parsed lines received so far. */
  messages(): Record<string, unknown>[] {
    return this.#text
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** Sends a line; when it is a request, resolves with its response. */
  async send(
    message: Record<string, unknown> | string,
    timeoutMs = 60_000,
  ): Promise<Record<string, unknown> | undefined> {
    const line = typeof message === 'string' ? message : JSON.stringify(message);
    this.child.stdin!.write(line + '\n');
    const id = typeof message === 'string' ? undefined : message['id'];
    if (id === undefined) return undefined;
    return waitFor(
      `response ${JSON.stringify(id)}; stderr: ${this.#stderr}`,
      () => this.messages().find((received) => received['id'] === id && received['method'] === undefined),
      timeoutMs,
    );
  }

  /** Closes stdin (the client went away) and waits for the exit. */
  async end(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGTERM'), 10_000);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }
}

export const initialize = (id: number, protocolVersion = '2025-06-18'): Record<string, unknown> => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: { protocolVersion, capabilities: {}, clientInfo: { name: 'proxy-test-client', version: '1.0.0' } },
});
export const initialized = { jsonrpc: '2.0', method: 'notifications/initialized' };
