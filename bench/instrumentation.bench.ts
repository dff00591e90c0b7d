/**
 * The cost of the instrumentation: median round trip of a loopback Streamable HTTP `tools/call`, bare vs
 * instrumented (spans, metrics and audit events exported over OTLP/HTTP to a local receiver), the CPU time per
 * call the instrumentation adds, and the import time of `mcpwatch/register` (needs `dist/`: `npm run build`).
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
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { instrument } from '../instrumentation/index.ts';
import { startTelemetryPipeline } from '../observer/export/pipeline.ts';
import { OtlpReceiver } from '../test/support/otlp-receiver.ts';

const CALLS_PER_BLOCK = 200;
const BLOCKS = 5;

interface Endpoint {
  client: Client;
  close: () => Promise<void>;
}

async function endpoint(instrumented: boolean): Promise<Endpoint> {
  const server = new McpServer({ name: instrumented ? 'bench-instrumented' : 'bench-bare', version: '1.0.0' });
  server.tool('ping', 'Answers pong.', () => ({ content: [{ type: 'text', text: 'pong' }] }));
  if (instrumented) instrument(server);
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
  const bare = await endpoint(false);
  const instrumented = await endpoint(true);
  const results = { bare: [] as Block[], instrumented: [] as Block[] };
  try {
    await block(bare.client); // warm-up, both
    await block(instrumented.client);
    // Interleaved blocks, so drift of the machine lands on both sides alike.
    for (let round = 0; round < BLOCKS; round++) {
      results.bare.push(await block(bare.client));
      results.instrumented.push(await block(instrumented.client));
    }
    await pipeline.forceFlush();
  } finally {
    await Promise.all([bare.close(), instrumented.close()]);
    await pipeline.shutdown();
    await receiver.stop();
  }
  const summary = (blocks: Block[]) => ({
    medianMs: median(blocks.flatMap((entry) => entry.latenciesMs)),
    cpuMicrosPerCall: median(blocks.map((entry) => entry.cpuMicros / CALLS_PER_BLOCK)),
  });
  const b = summary(results.bare);
  const i = summary(results.instrumented);
  const calls = BLOCKS * CALLS_PER_BLOCK;
  console.log(
    `Loopback Streamable HTTP tools/call, ${calls} calls per side in ${BLOCKS} interleaved blocks (client and server in one process)`,
  );
  console.log('| | median round trip | CPU per call (client + server) |');
  console.log('| --- | ---: | ---: |');
  console.log(`| bare | ${(b.medianMs * 1000).toFixed(0)} µs | ${b.cpuMicrosPerCall.toFixed(0)} µs |`);
  console.log(`| instrumented | ${(i.medianMs * 1000).toFixed(0)} µs | ${i.cpuMicrosPerCall.toFixed(0)} µs |`);
  console.log(
    `| added | ${(((i.medianMs - b.medianMs) / b.medianMs) * 100).toFixed(1)} % (ratio ${(i.medianMs / b.medianMs).toFixed(3)}) | ${(i.cpuMicrosPerCall - b.cpuMicrosPerCall).toFixed(1)} µs |`,
  );
  console.log(`(${receiver.bodies.length} OTLP export requests received)\n`);

  const plain = startupMs(['-e', '']);
  const register = startupMs(['--import', 'mcpwatch/register', '-e', '']);
  const sdkOnly = startupMs(['--input-type=module', '-e', "await import('@modelcontextprotocol/sdk/server/index.js')"]);
  console.log(
    'Start-up of `node -e ""`, median of 5 (the SDK is resolvable here, so register loads and patches it eagerly)',
  );
  console.log('| | wall time | added |');
  console.log('| --- | ---: | ---: |');
  console.log(`| node | ${plain.toFixed(0)} ms | |`);
  console.log(`| node + import of the SDK server | ${sdkOnly.toFixed(0)} ms | ${(sdkOnly - plain).toFixed(0)} ms |`);
  console.log(
    `| node --import mcpwatch/register | ${register.toFixed(0)} ms | ${(register - plain).toFixed(0)} ms |\n`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await instrumentationBench();
