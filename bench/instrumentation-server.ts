/**
 * One MCP server of the instrumentation bench, in its own process so that its CPU is the server's alone:
 * a `ping` tool over Streamable HTTP (the SDK's Node transport, sessions on). `bare` is the server as it is;
 * `plain-span` wraps the handler in one plain OTel span exported by the OTel SDK's own BatchSpanProcessor
 * and OTLP/HTTP protobuf exporter (with the AsyncLocalStorage context manager an OTel user registers);
 * `plain-log` emits one plain OTel log record per call the same way (BatchLogRecordProcessor, OTLP/HTTP
 * protobuf): the least an audit event that is never sampled can cost;
 * `instrumented` is the bare server started with `--import mcpwatch/register` by the bench. It prints its
 * port, then answers the bench over IPC: `flush` exports what is buffered and replies with the process CPU
 * time so far (µs), so that every measured block pays for its own export; `profile-start` and `profile-stop`
 * sample the block with the V8 profiler and reply which share of it ran telemetry code (and write the
 * block's profile to `$MCPWATCH_BENCH_BLOCK_PROFILES/<pid>-<block>.cpuprofile` when that is set).
 *
 *   node --import tsx bench/instrumentation-server.ts <bare|plain-span|plain-log|instrumented>
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Session } from 'node:inspector';
import type { Profiler } from 'node:inspector';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { context, trace } from '@opentelemetry/api';
import type { Logger } from '@opentelemetry/api-logs';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

export type ServerVariant = 'bare' | 'plain-span' | 'plain-log' | 'instrumented';

interface Flushable {
  forceFlush(): Promise<void>;
}

const variant = process.argv[2] as ServerVariant;
if (!['bare', 'plain-span', 'plain-log', 'instrumented'].includes(variant))
  throw new Error(`unknown variant ${variant}`);

let flushable: Flushable | undefined;
let plainLogger: Logger | undefined;
if (variant === 'plain-span') {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] });
  trace.setGlobalTracerProvider(provider);
  flushable = provider;
} else if (variant === 'plain-log') {
  const provider = new LoggerProvider({
    processors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter() })],
  });
  plainLogger = provider.getLogger('bench-plain');
  flushable = provider;
} else if (variant === 'instrumented') {
  // The pipeline `mcpwatch/register` started (loaded by `--import` before this file).
  flushable = (globalThis as Record<symbol, Flushable | undefined>)[Symbol.for('mcpwatch.instrumentation.started')];
  if (flushable === undefined) throw new Error('instrumented variant started without --import mcpwatch/register');
}

const tracer = trace.getTracer('bench-plain');
const pong = () => ({ content: [{ type: 'text' as const, text: 'pong' }] });
const transports = new Map<string, StreamableHTTPServerTransport>();

/** One McpServer per session, as the SDK's examples do. */
async function sessionTransport(): Promise<StreamableHTTPServerTransport> {
  const server = new McpServer({ name: `bench-${variant}`, version: '1.0.0' });
  if (variant === 'plain-span') {
    // The baseline: one plain SERVER span per call with a few attributes, made the usual way.
    server.tool('ping', 'Answers pong.', () =>
      tracer.startActiveSpan(
        'tools/call ping',
        { kind: 1, attributes: { 'mcp.method.name': 'tools/call' } },
        (span) => {
          span.setAttribute('gen_ai.tool.name', 'ping');
          span.end();
          return pong();
        },
      ),
    );
  } else if (plainLogger !== undefined) {
    // One plain log record per call with a few attributes.
    const logger = plainLogger;
    server.tool('ping', 'Answers pong.', () => {
      logger.emit({
        severityText: 'INFO',
        body: 'tools/call ping',
        attributes: { 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'ping' },
      });
      return pong();
    });
  } else server.tool('ping', 'Answers pong.', pong);
  const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    onsessioninitialized: (id) => void transports.set(id, transport),
  });
  await server.connect(transport);
  return transport;
}

const http = createServer((request, response) => {
  const id = request.headers['mcp-session-id'];
  const existing = typeof id === 'string' ? transports.get(id) : undefined;
  void (existing === undefined ? sessionTransport() : Promise.resolve(existing)).then((transport) =>
    transport.handleRequest(request, response),
  );
});
await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));

const cpuMicros = (): number => {
  const used = process.cpuUsage();
  return used.user + used.system;
};

/**
 * Where the samples of a block went: all of them (idle excluded), and those in telemetry code. Samples are
 * counted, not weighted by their time deltas: on a loaded machine a thread taken off the CPU comes back with one
 * sample whose delta spans the whole wait, which would hand that wait to whichever frame happened to be running.
 */
export interface ProfileShares {
  busySamples: number;
  /** OpenTelemetry and mcpwatch frames, with the Node internals they call (the host's code excluded). */
  telemetrySamples: number;
}

const isTelemetry = (url: string): boolean =>
  url.includes('/instrumentation/dist/') || url.includes('/@opentelemetry/');
const isNeutral = (url: string): boolean => url === '' || url.startsWith('node:');

/** A sample is telemetry's when the nearest frame above it that is not Node's own belongs to telemetry code. */
function profileShares(profile: Profiler.Profile): ProfileShares {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const shares: ProfileShares = { busySamples: 0, telemetrySamples: 0 };
  for (const sample of profile.samples ?? []) {
    let id: number | undefined = sample;
    const leaf = nodes.get(id)?.callFrame;
    if (leaf === undefined || leaf.functionName === '(idle)') continue;
    shares.busySamples++;
    while (id !== undefined && isNeutral(nodes.get(id)?.callFrame.url ?? '')) id = parents.get(id);
    if (id !== undefined && isTelemetry(nodes.get(id)?.callFrame.url ?? '')) shares.telemetrySamples++;
  }
  return shares;
}

/** Where each block's profile is written, when set. */
const profileDir = process.env['MCPWATCH_BENCH_BLOCK_PROFILES'];
let profiledBlocks = 0;

const session = new Session();
session.connect();
const post = <T>(method: string, params?: object): Promise<T> =>
  new Promise((resolve, reject) =>
    session.post(method, params, (error, result) => (error === null ? resolve(result as T) : reject(error))),
  );

process.on('message', (message: { type: string }) => {
  if (message.type === 'flush')
    void (flushable?.forceFlush() ?? Promise.resolve()).then(() => process.send?.({ cpuMicros: cpuMicros() }));
  else if (message.type === 'profile-start')
    void post('Profiler.enable')
      .then(() => post('Profiler.setSamplingInterval', { interval: 250 }))
      .then(() => post('Profiler.start'))
      .then(() => process.send?.({}));
  else if (message.type === 'profile-stop')
    void post<{ profile: Profiler.Profile }>('Profiler.stop').then(({ profile }) => {
      if (profileDir !== undefined) {
        mkdirSync(profileDir, { recursive: true });
        writeFileSync(join(profileDir, `${process.pid}-${++profiledBlocks}.cpuprofile`), JSON.stringify(profile));
      }
      process.send?.({ shares: profileShares(profile) });
    });
  else if (message.type === 'exit') process.exit(0);
});
process.send?.({ port: (http.address() as AddressInfo).port });
