/**
 * The cost of the instrumentation: median round trip of a loopback Streamable HTTP `tools/call` and the CPU
 * per call, bare vs instrumented (spans and audit events exported over OTLP/HTTP to a local receiver), with
 * spans sampled in and sampled out (`OTEL_TRACES_SAMPLER=always_off`: audit events are never sampled), against
 * the same-run baseline of one plain OTel span per call through the same exporter; and the start-up time of
 * `mcpwatch/register` (needs `dist/`: `npm run build`). Client and server share the process, so the CPU
 * added per call is the server's: the client's work is the same in every row.
 *
 *   tsx bench/instrumentation.bench.ts      (or through `tsx bench/run.ts instrumentation`)
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { trace } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { instrument } from '../instrumentation/index.ts';
import { ConnectionObserver } from '../observer/connection-observer.ts';
import { Telemetry } from '../observer/telemetry.ts';
import { startTelemetryPipeline } from '../observer/export/pipeline.ts';
import { OtlpReceiver } from '../test/support/otlp-receiver.ts';

const CALLS_PER_BLOCK = 200;
const BLOCKS = 5;

interface Endpoint {
  client: Client;
  close: () => Promise<void>;
}

type Variant = 'bare' | 'plain-span' | 'instrumented' | 'sampled-out';

async function endpoint(variant: Variant, sampledOut?: BasicTracerProvider): Promise<Endpoint> {
  const server = new McpServer({ name: `bench-${variant}`, version: '1.0.0' });
  const pong = () => ({ content: [{ type: 'text' as const, text: 'pong' }] });
  if (variant === 'plain-span') {
    // The baseline: one plain SERVER span per call with a few attributes, same provider and exporter.
    const tracer = trace.getTracer('bench-plain');
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
  } else server.tool('ping', 'Answers pong.', pong);
  if (variant === 'instrumented') instrument(server);
  if (variant === 'sampled-out' && sampledOut !== undefined)
    instrument(server, { tracerProvider: sampledOut, loggerProvider: logs.getLoggerProvider() });
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID() });
  await server.connect(transport);
  const http = createServer((request, response) => void transport.handleRequest(request, response));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${(http.address() as AddressInfo).port}/`)),
  );
  return {
    client,
    close: async () => {
      await client.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

interface Block {
  latenciesMs: number[];
  cpuMicros: number;
}

async function block(client: Client): Promise<Block> {
  const latenciesMs: number[] = [];
  const cpu = process.cpuUsage();
  for (let index = 0; index < CALLS_PER_BLOCK; index++) {
    const startedAt = performance.now();
    await client.callTool({ name: 'ping', arguments: {} });
    latenciesMs.push(performance.now() - startedAt);
  }
  const used = process.cpuUsage(cpu);
  return { latenciesMs, cpuMicros: used.user + used.system };
}

/**
 * The observer alone, without HTTP: CPU per `tools/call` request + response handed to a `ConnectionObserver`
 * (span, histogram, audit event, export) against one plain OTel span per call through the same provider.
 * In-process and synchronous, so the machine's I/O noise stays out; export runs in the batch processors.
 */
function observerCpuPerCall(
  variant: 'plain-span' | 'observer' | 'observer-sampled-out',
  telemetry: { sampledIn: Telemetry; sampledOut: Telemetry },
  calls: number,
): number {
  const observer =
    variant === 'plain-span'
      ? undefined
      : new ConnectionObserver(
          { transport: 'streamable-http', server: { name: 'bench-observer', version: '1.0.0' } },
          variant === 'observer' ? telemetry.sampledIn : telemetry.sampledOut,
        );
  const tracer = trace.getTracer('bench-plain');
  const inbound = { sessionId: 'bench-session', clientAddress: '127.0.0.1', headers: { 'user-agent': 'bench' } };
  const cpu = process.cpuUsage();
  for (let id = 0; id < calls; id++) {
    if (observer === undefined) {
      const span = tracer.startSpan('tools/call ping', {
        kind: 1,
        attributes: { 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'ping' },
      });
      span.end();
      continue;
    }
    observer.onInbound({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'ping', arguments: {} } }, inbound);
    observer.onOutbound({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'pong' }] } });
  }
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / calls;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

/** Median wall time of `node <args>` over a few runs, in ms. */
function startupMs(args: string[], runs = 5): number {
  const cwd = fileURLToPath(new URL('..', import.meta.url));
  const samples: number[] = [];
  for (let index = 0; index < runs; index++) {
    const startedAt = performance.now();
    const run = spawnSync(process.execPath, args, { cwd, env: { ...process.env, OTEL_SDK_DISABLED: 'false' } });
    if (run.status !== 0) throw new Error(`node ${args.join(' ')} failed: ${run.stderr.toString()}`);
    samples.push(performance.now() - startedAt);
  }
  return median(samples);
}

export default async function instrumentationBench(): Promise<void> {
  const receiver = new OtlpReceiver();
  process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = await receiver.start();
  process.env['MCPWATCH_HMAC_KEY'] ??= 'bench-only-hmac-key-0123456789abcdef';
  const pipeline = startTelemetryPipeline();
  // The standard sampler settings, read by the SDK from the environment when the provider is built.
  process.env['OTEL_TRACES_SAMPLER'] = 'always_off';
  const sampledOut = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] });
  delete process.env['OTEL_TRACES_SAMPLER'];
  const variants: Variant[] = ['bare', 'plain-span', 'instrumented', 'sampled-out'];
  const endpoints = new Map<Variant, Endpoint>();
  for (const variant of variants) endpoints.set(variant, await endpoint(variant, sampledOut));
  const results = new Map<Variant, Block[]>(variants.map((variant) => [variant, []]));
  const observerRows = {
    'plain-span': [] as number[],
    observer: [] as number[],
    'observer-sampled-out': [] as number[],
  };
  const observerTelemetry = {
    sampledIn: new Telemetry(),
    sampledOut: new Telemetry({ tracerProvider: sampledOut, loggerProvider: logs.getLoggerProvider() }),
  };
  try {
    for (const variant of variants) await block(endpoints.get(variant)!.client); // warm-up
    // Interleaved blocks, so drift of the machine lands on every side alike.
    for (let round = 0; round < BLOCKS; round++) {
      for (const variant of variants) results.get(variant)!.push(await block(endpoints.get(variant)!.client));
    }
    for (const variant of Object.keys(observerRows) as (keyof typeof observerRows)[])
      observerCpuPerCall(variant, observerTelemetry, 500); // warm-up
    for (let round = 0; round < 7; round++) {
      for (const variant of Object.keys(observerRows) as (keyof typeof observerRows)[]) {
        observerRows[variant].push(observerCpuPerCall(variant, observerTelemetry, 1000));
        await pipeline.forceFlush(); // each block's export runs between blocks, outside the measured CPU
      }
    }
    await pipeline.forceFlush();
  } finally {
    await Promise.all([...endpoints.values()].map((entry) => entry.close()));
    await Promise.all([pipeline.shutdown(), sampledOut.shutdown()]);
    await receiver.stop();
  }
  const summary = (blocks: Block[]) => ({
    medianMs: median(blocks.flatMap((entry) => entry.latenciesMs)),
    cpuMicrosPerCall: median(blocks.map((entry) => entry.cpuMicros / CALLS_PER_BLOCK)),
  });
  const bare = summary(results.get('bare')!);
  const plainSpan = summary(results.get('plain-span')!);
  const plainAdded = plainSpan.cpuMicrosPerCall - bare.cpuMicrosPerCall;
  const calls = BLOCKS * CALLS_PER_BLOCK;
  console.log(
    `Loopback Streamable HTTP tools/call, ${calls} calls per row in ${BLOCKS} interleaved blocks (client and server in one process)`,
  );
  console.log(
    '| | median round trip | vs bare | CPU per call | added CPU per call | added vs one plain span (same run) |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  const labels: Record<Variant, string> = {
    bare: 'bare',
    'plain-span': 'baseline: one plain OTel span per call, same exporter',
    instrumented: 'instrumented, spans sampled in',
    'sampled-out': 'instrumented, spans sampled out (OTEL_TRACES_SAMPLER=always_off)',
  };
  for (const variant of variants) {
    const row = summary(results.get(variant)!);
    const added = row.cpuMicrosPerCall - bare.cpuMicrosPerCall;
    console.log(
      `| ${labels[variant]} | ${(row.medianMs * 1000).toFixed(0)} µs | ${(row.medianMs / bare.medianMs).toFixed(3)}× | ${row.cpuMicrosPerCall.toFixed(0)} µs | ${variant === 'bare' ? '' : `${added.toFixed(1)} µs`} | ${variant === 'bare' || variant === 'plain-span' ? '' : `${(added / plainAdded).toFixed(2)}×`} |`,
    );
  }
  console.log(`(${receiver.bodies.length} OTLP export requests received)\n`);

  const plainSpanCpu = median(observerRows['plain-span']);
  console.log('The observer alone (no HTTP), CPU per tools/call request + response, median of 7 blocks of 1,000');
  console.log('| | CPU per call | vs one plain OTel span |');
  console.log('| --- | ---: | ---: |');
  console.log(`| one plain OTel span (same provider and exporter) | ${plainSpanCpu.toFixed(1)} µs | 1.00× |`);
  for (const [variant, label] of [
    ['observer', 'observer, spans sampled in (span + histogram + audit event)'],
    ['observer-sampled-out', 'observer, spans sampled out (histogram + audit event)'],
  ] as const) {
    const cpu = median(observerRows[variant]);
    console.log(`| ${label} | ${cpu.toFixed(1)} µs | ${(cpu / plainSpanCpu).toFixed(2)}× |`);
  }
  console.log('(export CPU of the batch processors is not in these blocks: it runs on forceFlush, outside them)\n');

  const plain = startupMs(['-e', '']);
  const importSdk = "await import('@modelcontextprotocol/sdk/server/index.js')";
  const sdkOnly = startupMs(['--input-type=module', '-e', importSdk]);
  const register = startupMs(['--import', 'mcpwatch/register', '--input-type=module', '-e', importSdk]);
  console.log('Start-up, median of 5 runs (the SDK is resolvable here, so register loads and patches it eagerly)');
  console.log('| | wall time | added | vs the SDK import alone |');
  console.log('| --- | ---: | ---: | ---: |');
  console.log(`| node -e "" | ${plain.toFixed(0)} ms | | |`);
  console.log(`| node + import of the SDK server | ${sdkOnly.toFixed(0)} ms | ${(sdkOnly - plain).toFixed(0)} ms | |`);
  console.log(
    `| node --import mcpwatch/register + import of the SDK server | ${register.toFixed(0)} ms | ${(register - plain).toFixed(0)} ms | +${(register - sdkOnly).toFixed(0)} ms |\n`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await instrumentationBench();
