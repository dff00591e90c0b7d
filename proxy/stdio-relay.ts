import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { Logger } from 'pino';
import { McpwatchError } from '../contracts/errors.ts';
import { ConnectionObserver } from '../observer/connection-observer.ts';
import { guard } from '../observer/telemetry.ts';
import type { Telemetry } from '../observer/telemetry.ts';
import type { ToolGate } from './enforcement.ts';
import { jsonRpcMessages, LineSplitter } from './framing.ts';
import { localPrincipal } from './identity.ts';
import { countOversize, newCounters, observeText } from './observe.ts';
import type { RelayCounters } from './observe.ts';

export interface StdioProxyOptions {
  command: string;
  args: readonly string[];
  /** The gateway's name for the server (`--name` or derived). */
  name: string;
  /** The name was given (`--name`): it holds over the name the server gives itself. */
  nameFixed?: boolean;
  telemetry: Telemetry;
  logger: Logger;
  /** Longest message the observer is handed, in bytes; longer ones are relayed and counted, not observed. */
  maxObservedBytes: number;
  /** Pin-and-approve (`--enforce`); without it the relay is byte for byte. */
  gate?: ToolGate;
  /** The agent host's side; the process's stdin/stdout unless given (tests, benchmarks). */
  input?: Readable;
  output?: Writable;
}

export interface StdioProxyExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  counters: RelayCounters;
}

/** Signals the proxy passes on to the server instead of acting on them itself. */
const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * `mcpwatch proxy -- <command...>`: runs the server as a child and relays stdin → child and child → stdout.
 * Without `--enforce` every chunk is written on as it arrives, before a copy of it is cut into lines for the
 * observer. stderr is the child's own (inherited). Resolves when the child has exited and its output is relayed.
 */
export function runStdioProxy(options: StdioProxyOptions): Promise<StdioProxyExit> {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const { telemetry, logger } = options;
  const counters = newCounters();
  const child = spawn(options.command, options.args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const observer = new ConnectionObserver(
    {
      transport: 'stdio',
      server: { name: options.name },
      serverNameFixed: options.nameFixed === true,
      principal: localPrincipal(telemetry.keyring, telemetry.config.MCPWATCH_REAL_IDS),
    },
    telemetry,
  );
  const forward = (signal: NodeJS.Signals): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);

  const observeIn = new LineSplitter(
    options.maxObservedBytes,
    (line) => observeText(observer, telemetry, counters, 'inbound', line),
    () => countOversize(telemetry, counters, 'inbound'),
  );
  const observeOut = new LineSplitter(
    options.maxObservedBytes,
    (line) => observeText(observer, telemetry, counters, 'outbound', line),
    () => countOversize(telemetry, counters, 'outbound'),
  );

  child.stdin.on('error', (error) => logger.debug({ err: error }, 'Server stdin closed.'));
  output.on('error', (error) => {
    logger.debug({ err: error }, 'Client output closed; stopping the server.');
    forward('SIGTERM');
  });
  let drained = (): Promise<void> => Promise.resolve();
  if (options.gate === undefined) {
    relay(input, child.stdin, (chunk) => observeIn.push(chunk));
    relay(child.stdout, output, (chunk) => observeOut.push(chunk), false);
  } else {
    drained = enforceRelay(
      options.gate,
      input,
      child.stdin,
      child.stdout,
      output,
      observer,
      telemetry,
      counters,
      options,
    );
  }

  return new Promise<StdioProxyExit>((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
      input.pause();
      reject(
        new McpwatchError(
          'CONFIG_INVALID',
          `cannot start ${JSON.stringify(options.command)}: ${error.code ?? error.message}`,
          {
            cause: error,
          },
        ),
      );
    });
    // `close`, not `exit`: the child's stdout has been relayed to its end by then.
    child.once('close', (code, signal) => {
      for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
      input.pause();
      void drained().then(() => {
        observer.onClose();
        resolve({ code, signal, counters });
      });
    });
  });
}

/** Writes each chunk on (pausing the source while the sink is full), then hands the same chunk to `observe`. */
function relay(source: Readable, sink: Writable, observe: (chunk: Buffer) => void, endSink = true): void {
  source.on('data', (chunk: Buffer) => {
    if (!sink.write(chunk)) {
      source.pause();
      sink.once('drain', () => source.resume());
    }
    guard('relay observation', () => observe(chunk));
  });
  if (endSink) source.once('end', () => sink.end());
}

/** Complete lines as raw bytes (with their `\n`), for the enforcing relay that may replace or answer a line. */
class RawLines {
  #parts: Buffer[] = [];
  constructor(private readonly onLine: (line: Buffer) => void) {}
  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(0x0a, start);
      if (end === -1) {
        if (start < chunk.length) this.#parts.push(chunk.subarray(start));
        return;
      }
      this.#parts.push(chunk.subarray(start, end + 1));
      const line = this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts);
      this.#parts = [];
      this.onLine(line);
      start = end + 1;
    }
  }
  /** What is left without a line end when the stream ends. */
  rest(): Buffer | undefined {
    return this.#parts.length === 0 ? undefined : Buffer.concat(this.#parts);
  }
}

/**
 * The `--enforce` relay: line by line, in order. A `tools/list` result loses its withheld tools; a `tools/call`
 * of a withheld tool is answered here with a JSON-RPC error and never reaches the server. Everything else is
 * relayed as the bytes it was. The observer sees what the server sent and what the client asked.
 */
function enforceRelay(
  gate: ToolGate,
  input: Readable,
  childIn: Writable,
  childOut: Readable,
  output: Writable,
  observer: ConnectionObserver,
  telemetry: Telemetry,
  counters: RelayCounters,
  options: StdioProxyOptions,
): () => Promise<void> {
  const failed = (error: unknown): void => options.logger.error({ err: error }, 'Enforcing relay failed.');
  const listRequests = new Set<string>();
  let toServer: Promise<void> = Promise.resolve();
  let toClient: Promise<void> = Promise.resolve();
  const send = (sink: Writable, bytes: Buffer | string): Promise<void> =>
    sink.write(bytes) ? Promise.resolve() : new Promise((resolve) => sink.once('drain', () => resolve()));
  const parse = (line: Buffer): Record<string, unknown>[] | undefined =>
    line.length > options.maxObservedBytes ? undefined : jsonRpcMessages(line.toString('utf8'));

  const fromClient = new RawLines((line) => {
    toServer = toServer
      .then(async () => {
        const messages = parse(line);
        const text = line.toString('utf8');
        if (messages === undefined) {
          if (line.length > options.maxObservedBytes) countOversize(telemetry, counters, 'inbound');
          else if (text.trim() !== '') observeText(observer, telemetry, counters, 'inbound', text);
          return send(childIn, line);
        }
        const single = messages.length === 1 ? messages[0] : undefined;
        const params = single?.['params'] as Record<string, unknown> | undefined;
        if (single?.['method'] === 'tools/list' && single['id'] !== undefined)
          listRequests.add(JSON.stringify(single['id']));
        const tool = single?.['method'] === 'tools/call' ? params?.['name'] : undefined;
        const refusal = typeof tool === 'string' && single?.['id'] !== undefined ? await gate.refusal(tool) : undefined;
        observeText(observer, telemetry, counters, 'inbound', text);
        if (refusal === undefined || typeof tool !== 'string') return send(childIn, line);
        const answer = JSON.stringify({ jsonrpc: '2.0', id: single!['id'], error: gate.errorFor(tool, refusal) });
        observeText(observer, telemetry, counters, 'outbound', answer);
        toClient = toClient.then(() => send(output, answer + '\n'));
        return toClient;
      })
      .catch(failed);
  });
  const fromServer = new RawLines((line) => {
    toClient = toClient
      .then(async () => {
        const messages = parse(line);
        const text = line.toString('utf8');
        if (messages === undefined) {
          if (line.length > options.maxObservedBytes) countOversize(telemetry, counters, 'outbound');
          else if (text.trim() !== '') observeText(observer, telemetry, counters, 'outbound', text);
          return send(output, line);
        }
        observeText(observer, telemetry, counters, 'outbound', text);
        const single = messages.length === 1 ? messages[0] : undefined;
        const key = single?.['id'] === undefined ? undefined : JSON.stringify(single['id']);
        const result = single?.['result'] as Record<string, unknown> | undefined;
        if (key === undefined || !listRequests.delete(key) || !Array.isArray(result?.['tools']))
          return send(output, line);
        const served = await gate.filterToolList(result['tools'] as unknown[]);
        if (served.length === (result['tools'] as unknown[]).length) return send(output, line);
        return send(output, JSON.stringify({ ...single, result: { ...result, tools: served } }) + '\n');
      })
      .catch(failed);
  });
  input.on('data', (chunk: Buffer) => fromClient.push(chunk));
  input.once('end', () => {
    const rest = fromClient.rest();
    toServer = toServer
      .then(() => (rest === undefined ? undefined : send(childIn, rest)))
      .then(() => void childIn.end(), failed);
  });
  childOut.on('data', (chunk: Buffer) => fromServer.push(chunk));
  childOut.once('end', () => {
    const rest = fromServer.rest();
    toClient = toClient.then(() => (rest === undefined ? undefined : send(output, rest))).catch(failed);
  });
  return () => toClient;
}
