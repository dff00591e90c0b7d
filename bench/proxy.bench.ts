/**
 * The cost of the gateway (`mcpwatch proxy`): median round trip of a loopback `tools/call` direct vs through
 * the proxy, over stdio and Streamable HTTP, measured in the same run in interleaved blocks; the CPU the proxy
 * adds per relayed message; and the rate of a 10k-event SSE stream direct vs proxied. The servers run as child
 * processes, the client and the proxy (with its observer exporting to a local OTLP receiver) in this one, so
 * this process's CPU is client + proxy and the difference between the sides is the proxy's.
 *
 *   tsx bench/proxy.bench.ts      (or through `tsx bench/run.ts proxy`)
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { PassThrough, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { pino } from 'pino';
import { startTelemetryPipeline } from '../observer/export/pipeline.ts';
import { globalTelemetry } from '../observer/telemetry.ts';
import { startHttpProxy } from '../proxy/http-proxy.ts';
import { runStdioProxy } from '../proxy/stdio-relay.ts';
import { OtlpReceiver } from '../test/support/otlp-receiver.ts';
import { measure, printTable } from './harness.ts';

const CALLS_PER_BLOCK = 200;
const BLOCKS = 5;
const SSE_EVENTS = 10_000;
const root = fileURLToPath(new URL('..', import.meta.url));
const stdioServer = fileURLToPath(new URL('../test/support/stdio-server.ts', import.meta.url));
const logger = pino({ level: 'silent' });

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

async function startHttpServer(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', HTTP_SERVER], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      const match = /listening (\S+)/.exec(chunk.toString());
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`bench server exited with ${String(code)}`)));
  });
  return { url, child };
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
    await client.callTool({ name: 'echo', arguments: {} });
    latenciesMs.push(performance.now() - startedAt);
  }
  const used = process.cpuUsage(cpu);
  return { latenciesMs, cpuMicros: used.user + used.system };
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

async function connect(transport: Transport): Promise<Client> {
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

/** An MCP client transport to a stdio server relayed by `runStdioProxy` in this process. */
class ProxiedStdioTransport implements Transport {
  onmessage?: Transport['onmessage'];
  onclose?: () => void;
  onerror?: (error: Error) => void;
  readonly #input = new PassThrough();
  #buffer = '';
  #exit: Promise<unknown> | undefined;

  start(): Promise<void> {
    const output = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        this.#buffer += chunk.toString('utf8');
        let end: number;
        while ((end = this.#buffer.indexOf('\n')) !== -1) {
          const line = this.#buffer.slice(0, end);
          this.#buffer = this.#buffer.slice(end + 1);
          if (line.trim() !== '') this.onmessage?.(JSON.parse(line) as never);
        }
        done();
      },
    });
    this.#exit = runStdioProxy({
      command: process.execPath,
      args: ['--import', 'tsx', stdioServer],
      name: 'bench-stdio-proxied',
      telemetry: globalTelemetry(),
      logger,
      maxObservedBytes: 4 * 1024 * 1024,
      input: this.#input,
      output,
    });
    return Promise.resolve();
  }

  send(message: unknown): Promise<void> {
    this.#input.write(JSON.stringify(message) + '\n');
    return Promise.resolve();
  }

  async close(): Promise<void> {
    this.#input.end();
    await this.#exit;
    this.onclose?.();
  }
}

async function compareCalls(title: string, direct: Client, proxied: Client): Promise<void> {
  const results = { direct: [] as Block[], proxied: [] as Block[] };
  await block(direct); // warm-up, both
  await block(proxied);
  // Interleaved blocks, so drift of the machine lands on both sides alike.
  for (let round = 0; round < BLOCKS; round++) {
    results.direct.push(await block(direct));
    results.proxied.push(await block(proxied));
  }
  const summary = (blocks: Block[]) => ({
    medianMs: median(blocks.flatMap((entry) => entry.latenciesMs)),
    cpuMicrosPerCall: median(blocks.map((entry) => entry.cpuMicros / CALLS_PER_BLOCK)),
  });
  const d = summary(results.direct);
  const p = summary(results.proxied);
  console.log(`${title}: ${BLOCKS * CALLS_PER_BLOCK} calls per side in ${BLOCKS} interleaved blocks`);
  console.log('| | median round trip | CPU per call in this process (client + proxy) |');
  console.log('| --- | ---: | ---: |');
  console.log(`| direct | ${(d.medianMs * 1000).toFixed(0)} µs | ${d.cpuMicrosPerCall.toFixed(0)} µs |`);
  console.log(`| proxied | ${(p.medianMs * 1000).toFixed(0)} µs | ${p.cpuMicrosPerCall.toFixed(0)} µs |`);
  console.log(
    `| added | ${((p.medianMs - d.medianMs) * 1000).toFixed(0)} µs (ratio ${(p.medianMs / d.medianMs).toFixed(3)}) | ` +
      `${(p.cpuMicrosPerCall - d.cpuMicrosPerCall).toFixed(1)} µs per call = ` +
      `${((p.cpuMicrosPerCall - d.cpuMicrosPerCall) / 2).toFixed(1)} µs per relayed message |\n`,
  );
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

export default async function proxyBench(): Promise<void> {
  const receiver = new OtlpReceiver();
  process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = await receiver.start();
  process.env['MCPWATCH_HMAC_KEY'] ??= 'bench-only-hmac-key-0123456789abcdef';
  const pipeline = startTelemetryPipeline();
  const http = await startHttpServer();
  const proxy = await startHttpProxy({
    upstream: new URL(`${http.url}/mcp`),
    host: '127.0.0.1',
    port: 0,
    name: 'bench-http-proxied',
    telemetry: globalTelemetry(),
    logger,
    maxObservedBytes: 4 * 1024 * 1024,
  });
  try {
    const stdioDirect = await connect(
      new StdioClientTransport({ command: process.execPath, args: ['--import', 'tsx', stdioServer], cwd: root }),
    );
    const stdioProxied = await connect(new ProxiedStdioTransport());
    try {
      await compareCalls('Loopback stdio tools/call', stdioDirect, stdioProxied);
    } finally {
      await Promise.all([stdioDirect.close(), stdioProxied.close()]);
    }

    const httpDirect = await connect(new StreamableHTTPClientTransport(new URL(`${http.url}/mcp`)));
    const httpProxied = await connect(new StreamableHTTPClientTransport(new URL(proxy.url)));
    try {
      await compareCalls('Loopback Streamable HTTP tools/call (SSE responses)', httpDirect, httpProxied);
    } finally {
      await Promise.all([httpDirect.close(), httpProxied.close()]);
    }

    const stream = (name: string, url: string) =>
      measure({
        name,
        runs: 5,
        run: async () => {
          const events = await readEvents(url);
          if (events !== SSE_EVENTS) throw new Error(`${name}: ${events} of ${SSE_EVENTS} events arrived`);
          return { units: events };
        },
      });
    // A GET stream on the MCP path: through the proxy every event is also parsed and observed.
    const sseRows = [await stream('direct', `${http.url}/mcp`), await stream('proxied', proxy.url)];
    printTable(`SSE stream of ${SSE_EVENTS} JSON-RPC notifications on one GET`, sseRows, {
      baseline: 'direct',
      unit: 'events/s',
    });
    await pipeline.forceFlush();
  } finally {
    await proxy.close();
    http.child.kill('SIGTERM');
    await pipeline.shutdown();
    await receiver.stop();
  }
  console.log(`(${receiver.bodies.length} OTLP export requests received)\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await proxyBench();
