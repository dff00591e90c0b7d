/**
 * The cost of the gateway (`mcpwatch proxy`), measured from outside in interleaved blocks (direct and proxied
 * alternating, so that drift of a loaded machine lands on both sides alike):
 *
 * - the round trip of a loopback `tools/call`, direct vs through the proxy, over stdio and Streamable HTTP: the
 *   same client code on both sides, so the difference is the proxy's hop and its work;
 * - the proxy's CPU per relayed message: the proxy runs in its own process (`proxy-process.ts`, the CLI's code
 *   path, exporting OTLP to a receiver here) and reports its CPU after exporting what the block buffered, so
 *   every block pays for its own export; one `tools/call` is two relayed messages;
 * - a 10k-event SSE stream on one GET, direct vs proxied (every event parsed and observed by the proxy), in many
 *   short rounds.
 *
 * Every figure is also measured for a bare relay (Node's `http`/`child_process` streams piped, nothing else,
 * `proxy-process.ts`) in the same run: what the plainest relay in Node costs on the machine; the goal rows carry
 * it as their baseline.
 *
 * With `MCPWATCH_BENCH_CPU_PROF=<dir>` the proxy processes write CPU profiles to `<dir>`. With
 * `MCPWATCH_BENCH_PROXY_AB=<checkout>` the proxy of another checkout of mcpwatch (with its own `npm ci` or a link
 * to these `node_modules`) is one more side in the same interleaved blocks: a before/after in one run.
 *
 *   tsx bench/proxy.bench.ts      (or through `tsx bench/run.ts proxy`)
 */
import { fork, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { OtlpReceiver } from '../test/support/otlp-receiver.ts';
import { formatNumber, median, printTable } from './harness.ts';
import type { BenchContext, GoalRow, Measurement } from './harness.ts';

const CALLS_PER_BLOCK = 200;
const ROUNDS = 6;
const SSE_EVENTS = 10_000;
/**
 * One stream lasts 50–100 ms here, so one round says little on a shared machine: many rounds, the median of
 * each side's, after a few unrecorded ones that let the relays' code warm up.
 */
const SSE_ROUNDS = 30;
const SSE_WARM_UP_ROUNDS = 3;
/** The aims of the gateway issue. */
const AIM_ADDED_MICROS = 300;
const AIM_CPU_PER_MESSAGE_MICROS = 50;
const AIM_SSE_RATIO = 0.95;
const DIRECT = 'direct';
const BARE = 'bare relay (Node streams only)';
const PROXY = 'mcpwatch proxy';
const abCheckout = process.env['MCPWATCH_BENCH_PROXY_AB'];
const AB = `mcpwatch proxy of ${abCheckout ?? ''}`;
const root = fileURLToPath(new URL('..', import.meta.url));
const stdioServer = fileURLToPath(new URL('../test/support/stdio-server.ts', import.meta.url));
const proxyProcess = fileURLToPath(new URL('./proxy-process.ts', import.meta.url));
const abProxyProcess = abCheckout === undefined ? undefined : `${abCheckout}/bench/proxy-process.ts`;

/** A stateful Streamable HTTP MCP server (the SDK's) with one `echo` tool, in a child process. */
const HTTP_SERVER = `
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
const transports = new Map();
const http = createServer(async (req, res) => {
  if (req.method === 'GET' && req.headers['x-bench-stream'] !== undefined) {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (let i = 0; i < ${SSE_EVENTS}; i++) {
      const data = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'event ' + i } });
      if (!res.write('id: ' + i + '\\ndata: ' + data + '\\n\\n')) await new Promise((r) => res.once('drain', r));
    }
    return res.end();
  }
  let transport = transports.get(req.headers['mcp-session-id']);
  if (transport === undefined) {
    transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), onsessioninitialized: (id) => transports.set(id, transport) });
    const server = new McpServer({ name: 'bench-http', version: '1.0.0' });
    server.tool('echo', 'Echoes.', () => ({ content: [{ type: 'text', text: 'echoed' }] }));
    await server.connect(transport);
  }
  await transport.handleRequest(req, res);
});
http.listen(0, '127.0.0.1', () => console.log('listening http://127.0.0.1:' + http.address().port));
`;

function startHttpServer(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', HTTP_SERVER], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      const match = /listening (\S+)/.exec(chunk.toString());
      if (match?.[1] !== undefined) resolve({ url: match[1], child });
    });
    child.once('exit', (code) => reject(new Error(`bench server exited with ${String(code)}`)));
  });
}

const load = (): string =>
  `load average ${loadavg()
    .map((value) => value.toFixed(2))
    .join(', ')}`;

/** A proxy process: its CPU time (µs) after it exported what it buffered. */
interface ProxyProcess {
  child: ChildProcess;
  flushedCpuMicros(): Promise<number>;
}

function proxyOf(child: ChildProcess): ProxyProcess & { reply(): Promise<{ url?: string; cpuMicros?: number }> } {
  type Reply = { url?: string; cpuMicros?: number };
  const replies: { resolve: (message: Reply) => void; reject: (error: Error) => void }[] = [];
  child.on('message', (message: Reply) => replies.shift()?.resolve(message));
  child.once('exit', (code) => {
    for (const waiting of replies.splice(0)) waiting.reject(new Error(`bench proxy exited with ${String(code)}`));
  });
  const reply = (): Promise<Reply> => new Promise((resolve, reject) => replies.push({ resolve, reject }));
  return {
    child,
    reply,
    flushedCpuMicros: async () => {
      const answer = reply();
      child.send({ type: 'flush' });
      return (await answer).cpuMicros ?? Number.NaN;
    },
  };
}

const proxyExecArgv = (): string[] => {
  const profileDir = process.env['MCPWATCH_BENCH_CPU_PROF'];
  return ['--import', 'tsx', ...(profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`])];
};

/**
 * An MCP client transport over a child's stdin/stdout, the same for the server run directly and for the proxy
 * process in front of it (with an IPC channel to ask the proxy for its CPU).
 */
class ChildStdioTransport implements Transport {
  onmessage?: Transport['onmessage'];
  onclose?: () => void;
  onerror?: (error: Error) => void;
  child: ChildProcess | undefined;
  #buffer = '';

  constructor(
    private readonly args: string[],
    private readonly ipc: boolean,
  ) {}

  start(): Promise<void> {
    const child = this.ipc
      ? fork(this.args[0]!, this.args.slice(1), {
          cwd: root,
          execArgv: proxyExecArgv(),
          stdio: ['pipe', 'pipe', 'inherit', 'ipc'],
        })
      : spawn(process.execPath, this.args, { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
    this.child = child;
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      this.#buffer += chunk;
      let end: number;
      while ((end = this.#buffer.indexOf('\n')) !== -1) {
        const line = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 1);
        if (line.trim() !== '') this.onmessage?.(JSON.parse(line) as JSONRPCMessage);
      }
    });
    return Promise.resolve();
  }

  send(message: JSONRPCMessage): Promise<void> {
    this.child!.stdin!.write(JSON.stringify(message) + '\n');
    return Promise.resolve();
  }

  async close(): Promise<void> {
    const child = this.child!;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin!.end();
      await exited;
    }
    this.onclose?.();
  }
}

async function connect(transport: Transport): Promise<Client> {
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

async function block(client: Client): Promise<number[]> {
  const latenciesMs: number[] = [];
  for (let index = 0; index < CALLS_PER_BLOCK; index++) {
    const startedAt = performance.now();
    await client.callTool({ name: 'echo', arguments: {} });
    latenciesMs.push(performance.now() - startedAt);
  }
  return latenciesMs;
}

/** One way to reach the server: directly, or through a relay process whose CPU is read around each block. */
interface Side {
  name: string;
  client: Client;
  relay?: ProxyProcess;
}

/** The sides in a different order every round, so drift of the machine lands on each alike. */
const rotated = <T>(items: readonly T[], round: number): T[] =>
  items.map((_, index) => items[(index + round) % items.length]!);

const cpuCell = (values: readonly number[]): string =>
  values.length === 0
    ? ''
    : `${median(values).toFixed(1)} µs (${Math.min(...values).toFixed(1)}–${Math.max(...values).toFixed(1)})`;

/**
 * Interleaved blocks of calls on every side; a relay's CPU is read around each of its blocks. Returns, per
 * side, the median round trip added to the first (direct) side's, and the relay's CPU per relayed message.
 */
async function compareCalls(
  title: string,
  sides: readonly Side[],
): Promise<Map<string, { addedMicros: number; cpuPerMessageMicros: number }>> {
  for (const side of sides) await block(side.client); // warm-up
  const latencies = new Map(sides.map((side) => [side.name, [] as number[]]));
  const cpu = new Map(sides.map((side) => [side.name, [] as number[]]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const side of rotated(sides, round)) {
      const before = await side.relay?.flushedCpuMicros();
      latencies.get(side.name)!.push(...(await block(side.client)));
      if (side.relay !== undefined && before !== undefined)
        cpu.get(side.name)!.push(((await side.relay.flushedCpuMicros()) - before) / (2 * CALLS_PER_BLOCK));
    }
  }
  const direct = median(latencies.get(sides[0]!.name)!) * 1000;
  console.log(`### ${title}\n`);
  console.log(`${ROUNDS * CALLS_PER_BLOCK} calls per side in ${ROUNDS} interleaved blocks; ${load()}\n`);
  console.log(
    '| | median round trip | added | relay CPU per relayed message (median of blocks, min–max) |\n| --- | ---: | ---: | ---: |',
  );
  const figures = new Map<string, { addedMicros: number; cpuPerMessageMicros: number }>();
  for (const side of sides) {
    const roundTrip = median(latencies.get(side.name)!) * 1000;
    const added =
      side === sides[0] ? '' : `${formatNumber(roundTrip - direct)} µs (${(roundTrip / direct).toFixed(2)}×)`;
    console.log(`| ${side.name} | ${formatNumber(roundTrip)} µs | ${added} | ${cpuCell(cpu.get(side.name)!)} |`);
    figures.set(side.name, { addedMicros: roundTrip - direct, cpuPerMessageMicros: median(cpu.get(side.name)!) });
  }
  console.log('');
  return figures;
}

/** Reads the whole SSE stream at `url`; returns how many events arrived. */
function readEvents(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { headers: { accept: 'text/event-stream', 'mcp-session-id': 'bench-sse', 'x-bench-stream': '1' } },
      (res) => {
        let events = 0;
        let tail = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const text = tail + chunk;
          const parts = text.split('\n\n');
          events += parts.length - 1;
          tail = parts.at(-1) ?? '';
        });
        res.once('end', () => resolve(events));
        res.once('error', reject);
      },
    );
    req.once('error', reject);
    req.end();
  });
}

/** Streams on every side in turn; rates in events/s, and each relay's CPU per event. */
async function compareStreams(
  sides: readonly { name: string; url: string; relay?: ProxyProcess }[],
): Promise<Map<string, { ratio: number; cpuPerEventMicros: number }>> {
  const rows: Measurement[] = sides.map((side) => ({ name: side.name, samples: [], units: [], durationsMs: [] }));
  const cpu = sides.map(() => [] as number[]);
  const stream = async (index: number, record: boolean): Promise<void> => {
    const side = sides[index]!;
    const row = rows[index]!;
    const before = await side.relay?.flushedCpuMicros();
    const startedAt = performance.now();
    const events = await readEvents(side.url);
    const elapsedMs = performance.now() - startedAt;
    if (events !== SSE_EVENTS) throw new Error(`${side.name}: ${events} of ${SSE_EVENTS} events arrived`);
    if (!record) return;
    row.units.push(events);
    row.durationsMs.push(elapsedMs);
    row.samples.push((events * 1000) / elapsedMs);
    if (side.relay !== undefined && before !== undefined)
      cpu[index]!.push(((await side.relay.flushedCpuMicros()) - before) / SSE_EVENTS);
  };
  const indexes = sides.map((_, index) => index);
  for (let round = 0; round < SSE_WARM_UP_ROUNDS; round++) for (const index of indexes) await stream(index, false);
  for (let round = 0; round < SSE_ROUNDS; round++)
    for (const index of rotated(indexes, round)) await stream(index, true);
  printTable(`SSE stream of ${SSE_EVENTS} JSON-RPC notifications on one GET (${load()})`, rows, {
    baseline: sides[0]!.name,
    unit: 'events/s',
  });
  const direct = median(rows[0]!.samples);
  const figures = new Map<string, { ratio: number; cpuPerEventMicros: number }>();
  sides.forEach((side, index) => {
    figures.set(side.name, { ratio: median(rows[index]!.samples) / direct, cpuPerEventMicros: median(cpu[index]!) });
    if (side.relay !== undefined) console.log(`${side.name}: relay CPU per event ${cpuCell(cpu[index]!)}`);
  });
  console.log('');
  return figures;
}

export default async function proxyBench(context?: BenchContext): Promise<void> {
  const receiver = new OtlpReceiver();
  const endpoint = await receiver.start();
  // The proxy processes inherit this environment: export to the receiver, one key for fingerprints.
  process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = endpoint;
  process.env['MCPWATCH_HMAC_KEY'] ??= 'bench-only-hmac-key-0123456789abcdef';
  const goals: GoalRow[] = [];
  /** A goal row; the same figure for the bare relay, measured in the same run, is its baseline. */
  const goal = (figure: string, measured: number, bare: number, unit: string, aim: number, atMost: boolean): void => {
    const format = (value: number): string => (unit === '×' ? `${value.toFixed(2)}×` : `${value.toFixed(0)} ${unit}`);
    goals.push({
      figure,
      measured: format(measured),
      baseline: `bare relay ${format(bare)}`,
      ratio: bare > 0 ? `${(measured / bare).toFixed(2)}×` : '—',
      goal: `${atMost ? '≤' : '≥'} ${format(aim)}`,
      met: atMost ? measured <= aim : measured >= aim,
    });
  };
  const http = await startHttpServer();
  const children: ChildProcess[] = [http.child];
  const forkRelay = async (mode: string, script = proxyProcess): Promise<{ url: string; relay: ProxyProcess }> => {
    const child = fork(script, [mode, `${http.url}/mcp`], {
      cwd: root,
      execArgv: proxyExecArgv(),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(child);
    const relay = proxyOf(child);
    return { url: (await relay.reply()).url!, relay };
  };
  try {
    const stdioArgs = ['--import', 'tsx', stdioServer];
    const transports = {
      direct: new ChildStdioTransport(stdioArgs, false),
      bare: new ChildStdioTransport([proxyProcess, 'stdio-bare', process.execPath, ...stdioArgs], true),
      proxy: new ChildStdioTransport([proxyProcess, 'stdio', process.execPath, ...stdioArgs], true),
    };
    const abTransport =
      abProxyProcess === undefined
        ? undefined
        : new ChildStdioTransport([abProxyProcess, 'stdio', process.execPath, ...stdioArgs], true);
    const clients = {
      direct: await connect(transports.direct),
      bare: await connect(transports.bare),
      proxy: await connect(transports.proxy),
      ...(abTransport === undefined ? {} : { ab: await connect(abTransport) }),
    };
    try {
      const stdio = await compareCalls('Loopback stdio tools/call', [
        { name: DIRECT, client: clients.direct },
        { name: BARE, client: clients.bare, relay: proxyOf(transports.bare.child!) },
        { name: PROXY, client: clients.proxy, relay: proxyOf(transports.proxy.child!) },
        ...(abTransport === undefined || clients.ab === undefined
          ? []
          : [{ name: AB, client: clients.ab, relay: proxyOf(abTransport.child!) }]),
      ]);
      const [proxy, bare] = [stdio.get(PROXY)!, stdio.get(BARE)!];
      goal(
        'proxy: stdio tools/call, added median round trip',
        proxy.addedMicros,
        bare.addedMicros,
        'µs',
        AIM_ADDED_MICROS,
        true,
      );
      goal(
        'proxy: stdio, CPU per relayed message',
        proxy.cpuPerMessageMicros,
        bare.cpuPerMessageMicros,
        'µs',
        AIM_CPU_PER_MESSAGE_MICROS,
        true,
      );
    } finally {
      await Promise.all(Object.values(clients).map((client) => client.close()));
    }

    const bare = await forkRelay('http-bare');
    const proxy = await forkRelay('http');
    const ab = abProxyProcess === undefined ? undefined : await forkRelay('http', abProxyProcess);
    const httpClients = {
      direct: await connect(new StreamableHTTPClientTransport(new URL(`${http.url}/mcp`))),
      bare: await connect(new StreamableHTTPClientTransport(new URL(bare.url))),
      proxy: await connect(new StreamableHTTPClientTransport(new URL(proxy.url))),
      ...(ab === undefined ? {} : { ab: await connect(new StreamableHTTPClientTransport(new URL(ab.url))) }),
    };
    try {
      const calls = await compareCalls('Loopback Streamable HTTP tools/call (SSE responses)', [
        { name: DIRECT, client: httpClients.direct },
        { name: BARE, client: httpClients.bare, relay: bare.relay },
        { name: PROXY, client: httpClients.proxy, relay: proxy.relay },
        ...(ab === undefined || httpClients.ab === undefined
          ? []
          : [{ name: AB, client: httpClients.ab, relay: ab.relay }]),
      ]);
      const [figures, bareFigures] = [calls.get(PROXY)!, calls.get(BARE)!];
      goal(
        'proxy: HTTP tools/call, added median round trip',
        figures.addedMicros,
        bareFigures.addedMicros,
        'µs',
        AIM_ADDED_MICROS,
        true,
      );
      goal(
        'proxy: HTTP, CPU per relayed message',
        figures.cpuPerMessageMicros,
        bareFigures.cpuPerMessageMicros,
        'µs',
        AIM_CPU_PER_MESSAGE_MICROS,
        true,
      );
    } finally {
      await Promise.all(Object.values(httpClients).map((client) => client.close()));
    }
    // A GET stream on the MCP path: through the proxy every event is also parsed and observed.
    const sse = await compareStreams([
      { name: DIRECT, url: `${http.url}/mcp` },
      { name: BARE, url: bare.url, relay: bare.relay },
      { name: PROXY, url: proxy.url, relay: proxy.relay },
      ...(ab === undefined ? [] : [{ name: AB, url: ab.url, relay: ab.relay }]),
    ]);
    goal(
      'proxy: SSE stream of 10k events, rate vs direct',
      sse.get(PROXY)!.ratio,
      sse.get(BARE)!.ratio,
      '×',
      AIM_SSE_RATIO,
      false,
    );
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await receiver.stop();
  }
  console.log(`(${receiver.bodies.length} OTLP export requests received)\n`);
  for (const row of goals) context?.reportGoal(row);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await proxyBench();
