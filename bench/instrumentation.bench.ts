/**
 * The cost of the instrumentation, measured from outside in interleaved repetitions (A/B alternating, so that
 * drift of a loaded machine lands on every side alike):
 *
 * - server CPU added per loopback Streamable HTTP `tools/call`: each server runs in its own process
 *   (`instrumentation-server.ts`), fresh every round, and reports its CPU time after exporting what the block
 *   buffered, so the export is paid inside the block. On a shared machine the difference of two ~1 ms totals is
 *   noisy, so each block is also profiled: the share of its CPU spent in OpenTelemetry and mcpwatch code, with
 *   the Node internals they call, is the telemetry's cost per call. The baseline is one plain OTel span per
 *   call through the OTel SDK's own batch processor and OTLP/HTTP protobuf exporter. Spans sampled in, and
 *   sampled out by the standard sampler setting (`OTEL_TRACES_SAMPLER=always_off`: audit events are never
 *   sampled), the latter also against one plain OTel log record per call exported the same way: the least a
 *   never-sampled audit event costs;
 * - the round trip, instrumented vs bare, from the client in this process;
 * - the observer alone, in this process without HTTP, against one plain span (where the per-call CPU goes);
 * - start-up: whole-process wall time of `node --import mcpwatch/register` + the SDK import vs the import alone.
 *
 * The instrumented servers and start-up use the built package (`npm run build`). With
 * `MCPWATCH_BENCH_COMPARE=<register.js of another build>` (say, the main branch's `instrumentation/dist/register.js`)
 * two more rows run that build, sampled in and out, interleaved with the others. With
 * `MCPWATCH_BENCH_CPU_PROF=<dir>` every server process writes the CPU profile of each measured block (warm-up
 * included) to `<dir>/<row>/`.
 *
 *   tsx bench/instrumentation.bench.ts      (or through `tsx bench/run.ts instrumentation`)
 */
import { fork, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { trace } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ConnectionObserver } from '../observer/connection-observer.ts';
import { Telemetry } from '../observer/telemetry.ts';
import { startTelemetryPipeline } from '../observer/export/pipeline.ts';
import { OtlpReceiver } from '../test/support/otlp-receiver.ts';
import { formatGoalTable, median, type BenchContext, type GoalRow } from './harness.ts';
import type { ProfileShares, ServerVariant } from './instrumentation-server.ts';

/** Longer blocks (`MCPWATCH_BENCH_CALLS_PER_BLOCK`) give each profile more samples on a loaded machine. */
const CALLS_PER_BLOCK = Number(process.env['MCPWATCH_BENCH_CALLS_PER_BLOCK'] ?? 400);
const ROUNDS = Number(process.env['MCPWATCH_BENCH_ROUNDS'] ?? 12);
const STARTUP_LAUNCHES = 15;
const root = fileURLToPath(new URL('..', import.meta.url));
const serverScript = fileURLToPath(new URL('./instrumentation-server.ts', import.meta.url));

type Row = 'bare' | 'plain-span' | 'plain-log' | 'instrumented' | 'sampled-out' | 'compare' | 'compare-sampled-out';
const compareRegister = process.env['MCPWATCH_BENCH_COMPARE'];
const ROWS: readonly Row[] = [
  'bare',
  'plain-span',
  'plain-log',
  'instrumented',
  'sampled-out',
  ...(compareRegister === undefined ? [] : (['compare', 'compare-sampled-out'] as const)),
];
const LABELS: Record<Row, string> = {
  bare: 'bare server',
  'plain-span': 'baseline: one plain OTel span per call (OTel SDK, batch processor, OTLP/HTTP protobuf)',
  'plain-log': 'one plain OTel log record per call, the same way (the least a never-sampled audit event costs)',
  instrumented: '`--import mcpwatch/register`, spans sampled in',
  'sampled-out': '`--import mcpwatch/register`, spans sampled out (`OTEL_TRACES_SAMPLER=always_off`)',
  compare: `\`--import ${compareRegister}\`, spans sampled in`,
  'compare-sampled-out': `\`--import ${compareRegister}\`, spans sampled out`,
};

const load = (): string =>
  `load average ${loadavg()
    .map((value) => value.toFixed(2))
    .join(', ')}`;

interface ServerProcess {
  client: Client;
  /** Exports what the server buffered, then its CPU time so far in µs. */
  flushedCpuMicros(): Promise<number>;
  /** Starts sampling the server's CPU, or stops and tells where it went. */
  profile(on: boolean): Promise<ProfileShares | undefined>;
  stop(): Promise<void>;
}

async function startServer(row: Row, endpoint: string): Promise<ServerProcess> {
  const variant: ServerVariant = row === 'bare' || row === 'plain-span' || row === 'plain-log' ? row : 'instrumented';
  const register = row === 'compare' || row === 'compare-sampled-out' ? compareRegister! : 'mcpwatch/register';
  const sampledOut = row === 'sampled-out' || row === 'compare-sampled-out';
  const profileDir = process.env['MCPWATCH_BENCH_CPU_PROF'];
  const child: ChildProcess = fork(serverScript, [variant], {
    cwd: root,
    execArgv: [...(variant === 'instrumented' ? ['--import', register] : []), '--import', 'tsx'],
    env: {
      ...process.env,
      ...(profileDir === undefined ? {} : { MCPWATCH_BENCH_BLOCK_PROFILES: join(profileDir, row) }),
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_SERVICE_NAME: `bench-${row}`,
      MCPWATCH_HMAC_KEY: 'bench-only-hmac-key-0123456789abcdef',
      ...(sampledOut ? { OTEL_TRACES_SAMPLER: 'always_off' } : {}),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  type Reply = { port?: number; cpuMicros?: number; shares?: ProfileShares };
  const replies: { resolve: (message: Reply) => void; reject: (error: Error) => void }[] = [];
  child.on('message', (message: Reply) => replies.shift()?.resolve(message));
  child.on('exit', (code) => {
    for (const waiting of replies.splice(0)) waiting.reject(new Error(`bench server ${row} exited with ${code}`));
  });
  const reply = () => new Promise<Reply>((resolve, reject) => replies.push({ resolve, reject }));
  const { port } = await reply();
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/`)));
  return {
    client,
    flushedCpuMicros: async () => {
      const answer = reply();
      child.send({ type: 'flush' });
      return (await answer).cpuMicros ?? Number.NaN;
    },
    profile: async (on) => {
      const answer = reply();
      child.send({ type: on ? 'profile-start' : 'profile-stop' });
      return (await answer).shares;
    },
    stop: async () => {
      await client.close();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ type: 'exit' });
      await exited;
    },
  };
}

interface Block {
  latenciesMs: number[];
  serverCpuMicrosPerCall: number;
  /** The server CPU per call in OpenTelemetry and mcpwatch code: their share of the block's CPU profile. */
  telemetryMicrosPerCall: number;
}

async function block(server: ServerProcess): Promise<Block> {
  const latenciesMs: number[] = [];
  await server.profile(true);
  const before = await server.flushedCpuMicros();
  for (let index = 0; index < CALLS_PER_BLOCK; index++) {
    const startedAt = performance.now();
    await server.client.callTool({ name: 'ping', arguments: {} });
    latenciesMs.push(performance.now() - startedAt);
  }
  const after = await server.flushedCpuMicros();
  const shares = await server.profile(false);
  const serverCpuMicrosPerCall = (after - before) / CALLS_PER_BLOCK;
  // The profile tells where the block's CPU went; its share is applied to the CPU time the process reports.
  const telemetryShare = (shares?.telemetrySamples ?? Number.NaN) / (shares?.busySamples ?? Number.NaN);
  return { latenciesMs, serverCpuMicrosPerCall, telemetryMicrosPerCall: telemetryShare * serverCpuMicrosPerCall };
}

async function loopbackRows(
  receiver: OtlpReceiver,
  endpoint: string,
  reportGoal: BenchContext['reportGoal'],
): Promise<void> {
  const blocks = new Map<Row, Block[]>(ROWS.map((row) => [row, []]));
  for (let round = 0; round < ROUNDS; round++) {
    // Fresh server processes every round: how one process happened to be laid out and compiled is not
    // allowed to bias a row, and each round's blocks run back to back so that load drift hits all alike.
    const servers = new Map<Row, ServerProcess>();
    try {
      for (const row of ROWS) servers.set(row, await startServer(row, endpoint));
      for (const row of ROWS) await block(servers.get(row)!); // warm-up: JIT, connection, first export
      // A different order each round: no row always follows the same one.
      const order = ROWS.map((_, index) => ROWS[(index + round) % ROWS.length]!);
      for (const row of order) blocks.get(row)!.push(await block(servers.get(row)!));
    } finally {
      await Promise.all([...servers.values()].map((server) => server.stop()));
    }
  }
  const bare = blocks.get('bare')!;
  // Paired by round: each row's block against the bare block of the same round.
  const pairedOverBare = (row: Row, of: (entry: Block) => number) =>
    median(blocks.get(row)!.map((entry, round) => of(entry) - of(bare[round]!)));
  const medianOf = (row: Row, of: (entry: Block) => number) => median(blocks.get(row)!.map(of));
  const roundTrip = (row: Row) => median(blocks.get(row)!.flatMap((entry) => entry.latenciesMs));
  const plainTelemetry = medianOf('plain-span', (entry) => entry.telemetryMicrosPerCall);
  console.log(
    `Loopback Streamable HTTP tools/call: ${ROUNDS} rounds of ${CALLS_PER_BLOCK} calls per row, interleaved, each round on fresh server processes (after a warm-up block); CPU is the server process's own, export included: all of it (process.cpuUsage) and, from a CPU profile of each block, the part in OpenTelemetry and mcpwatch code; ${load()}`,
  );
  console.log(
    '| | server CPU per call | added over bare (paired rounds) | in telemetry code per call (profile share) | vs one plain span | median round trip | vs bare |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  const signed = (value: number) => `${value >= 0 ? '+' : ''}${value.toFixed(1)} µs`;
  for (const row of ROWS) {
    const telemetry = medianOf(row, (entry) => entry.telemetryMicrosPerCall);
    const cells =
      row === 'bare'
        ? ['', '', '']
        : [
            signed(pairedOverBare(row, (entry) => entry.serverCpuMicrosPerCall)),
            `${telemetry.toFixed(1)} µs`,
            row === 'plain-span' ? '1.00×' : `${(telemetry / plainTelemetry).toFixed(2)}×`,
          ];
    console.log(
      `| ${LABELS[row]} | ${medianOf(row, (entry) => entry.serverCpuMicrosPerCall).toFixed(0)} µs | ${cells.join(' | ')} | ${(roundTrip(row) * 1000).toFixed(0)} µs | ${(roundTrip(row) / roundTrip('bare')).toFixed(3)}× |`,
    );
  }
  console.log(`(${receiver.bodies.length} OTLP export requests received)\n`);

  const sampledIn = medianOf('instrumented', (entry) => entry.telemetryMicrosPerCall);
  const sampledOut = medianOf('sampled-out', (entry) => entry.telemetryMicrosPerCall);
  const plain = `one plain OTel span per call: ${plainTelemetry.toFixed(1)} µs`;
  const plainLog = medianOf('plain-log', (entry) => entry.telemetryMicrosPerCall);
  reportGoal({
    figure: 'instrumentation: telemetry CPU per loopback HTTP tools/call, spans sampled in',
    measured: `${sampledIn.toFixed(1)} µs`,
    baseline: plain,
    ratio: `${(sampledIn / plainTelemetry).toFixed(2)}×`,
    goal: '≤ 1×',
    met: sampledIn <= plainTelemetry,
  });
  reportGoal({
    figure: 'instrumentation: telemetry CPU per loopback HTTP tools/call, spans sampled out',
    measured: `${sampledOut.toFixed(1)} µs`,
    baseline: `one plain OTel log record per call: ${plainLog.toFixed(1)} µs`,
    ratio: `${(sampledOut / plainLog).toFixed(2)}×`,
    goal: '≤ 25 µs',
    met: sampledOut <= 25,
  });
  const instrumentedTrip = roundTrip('instrumented') / roundTrip('bare');
  reportGoal({
    figure: 'instrumentation: median round trip, instrumented (sampled in) vs bare',
    measured: `${(roundTrip('instrumented') * 1000).toFixed(0)} µs`,
    baseline: `bare server: ${(roundTrip('bare') * 1000).toFixed(0)} µs`,
    ratio: `${instrumentedTrip.toFixed(2)}×`,
    goal: '≤ 1.05×',
    met: instrumentedTrip <= 1.05,
  });
}

/**
 * The observer alone, without HTTP: CPU per `tools/call` request + response handed to a `ConnectionObserver`
 * (span, histogram, audit event) against one plain OTel span per call through the same provider.
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

async function observerRows(): Promise<void> {
  const pipeline = startTelemetryPipeline();
  // The standard sampler settings, read by the SDK from the environment when the provider is built.
  process.env['OTEL_TRACES_SAMPLER'] = 'always_off';
  const sampledOut = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] });
  delete process.env['OTEL_TRACES_SAMPLER'];
  const telemetry = {
    sampledIn: new Telemetry(),
    sampledOut: new Telemetry({ tracerProvider: sampledOut, loggerProvider: logs.getLoggerProvider() }),
  };
  const variants = ['plain-span', 'observer', 'observer-sampled-out'] as const;
  const rows = new Map<(typeof variants)[number], number[]>(variants.map((variant) => [variant, []]));
  try {
    for (const variant of variants) observerCpuPerCall(variant, telemetry, 500); // warm-up
    for (let round = 0; round < 9; round++) {
      for (const variant of variants) {
        rows.get(variant)!.push(observerCpuPerCall(variant, telemetry, 1000));
        await pipeline.forceFlush(); // each block's export runs between blocks, outside the measured CPU
      }
    }
  } finally {
    await Promise.all([pipeline.shutdown(), sampledOut.shutdown()]);
  }
  const plainSpanCpu = median(rows.get('plain-span')!);
  console.log(
    `The observer alone (no HTTP, export not included), CPU per tools/call request + response, median of 9 interleaved blocks of 1,000; ${load()}`,
  );
  console.log('| | CPU per call | vs one plain OTel span |');
  console.log('| --- | ---: | ---: |');
  console.log(`| one plain OTel span (same provider) | ${plainSpanCpu.toFixed(1)} µs | 1.00× |`);
  for (const [variant, label] of [
    ['observer', 'observer, spans sampled in (span + histogram + audit event)'],
    ['observer-sampled-out', 'observer, spans sampled out (histogram + audit event)'],
  ] as const) {
    const cpu = median(rows.get(variant)!);
    console.log(`| ${label} | ${cpu.toFixed(1)} µs | ${(cpu / plainSpanCpu).toFixed(2)}× |`);
  }
  console.log('');
}

/** Whole-process wall times of interleaved launches of each command, in ms. */
function startupRows(reportGoal: BenchContext['reportGoal']): void {
  const importSdk = "await import('@modelcontextprotocol/sdk/server/index.js')";
  const commands = {
    empty: ['-e', ''],
    sdk: ['--input-type=module', '-e', importSdk],
    register: ['--import', 'mcpwatch/register', '--input-type=module', '-e', importSdk],
  };
  const names = Object.keys(commands) as (keyof typeof commands)[];
  const samples = new Map(names.map((name) => [name, [] as number[]]));
  const env = { ...process.env, OTEL_SDK_DISABLED: 'false' };
  for (let launch = 0; launch < STARTUP_LAUNCHES + 1; launch++) {
    for (let index = 0; index < names.length; index++) {
      const name = names[(index + launch) % names.length]!;
      const startedAt = performance.now();
      const run = spawnSync(process.execPath, commands[name], { cwd: root, env });
      const elapsedMs = performance.now() - startedAt;
      if (run.status !== 0) throw new Error(`node ${commands[name].join(' ')} failed: ${run.stderr.toString()}`);
      if (launch > 0) samples.get(name)!.push(elapsedMs); // the first launch of each warms the file cache
    }
  }
  const empty = median(samples.get('empty')!);
  const sdk = median(samples.get('sdk')!);
  const register = median(samples.get('register')!);
  const paired = median(samples.get('register')!.map((value, index) => value - samples.get('sdk')![index]!));
  console.log(
    `Start-up: whole-process wall time, median of ${STARTUP_LAUNCHES} interleaved launches each (the SDK resolvable from the working directory); ${load()}`,
  );
  console.log('| | wall time | added over node | added over the SDK import (median of paired launches) |');
  console.log('| --- | ---: | ---: | ---: |');
  console.log(`| node -e "" | ${empty.toFixed(0)} ms | | |`);
  console.log(`| node + import of the SDK server | ${sdk.toFixed(0)} ms | ${(sdk - empty).toFixed(0)} ms | |`);
  console.log(
    `| node --import mcpwatch/register + import of the SDK server | ${register.toFixed(0)} ms | ${(register - empty).toFixed(0)} ms | +${paired.toFixed(0)} ms |\n`,
  );
  reportGoal({
    figure: '`node --import mcpwatch/register` + SDK import, start-up added',
    measured: `+${paired.toFixed(0)} ms`,
    baseline: `the SDK import alone: ${sdk.toFixed(0)} ms`,
    ratio: `${(register / sdk).toFixed(2)}×`,
    goal: '≤ +150 ms',
    met: paired <= 150,
  });
}

export default async function instrumentationBench({ reportGoal }: BenchContext): Promise<void> {
  if (!existsSync(join(root, 'instrumentation', 'dist', 'register.js')))
    throw new Error('bench/instrumentation needs the built package: npm run build');
  const receiver = new OtlpReceiver();
  const endpoint = await receiver.start();
  process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = endpoint;
  process.env['MCPWATCH_HMAC_KEY'] ??= 'bench-only-hmac-key-0123456789abcdef';
  try {
    await loopbackRows(receiver, endpoint, reportGoal);
    await observerRows();
  } finally {
    await receiver.stop();
  }
  startupRows(reportGoal);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const goals: GoalRow[] = [];
  await instrumentationBench({ brokers: [], reportGoal: (row) => goals.push(row) });
  console.log(formatGoalTable(goals));
}
