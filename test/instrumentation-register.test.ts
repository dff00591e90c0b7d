/**
 * `mcpwatch/register` loaded the three ways a user loads it (`node --import`, a static `import`, `require`),
 * against the newest and the oldest supported SDK, with the high- and low-level server, over real stdio:
 * spans and audit events arrive at a local OTLP/HTTP receiver as protobuf, and the events satisfy the contract.
 * Needs `dist/` (`npm run build`): the package's self-reference `mcpwatch/register` points there.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { OtlpReceiver } from './support/otlp-receiver.ts';
import type { ReceivedLogRecord } from './support/otlp-receiver.ts';
import { waitFor } from './support/wait-for.ts';
import { parseMcpEvent } from '../contracts/parse.ts';
import { kindOfAuditEventName } from '../contracts/signals.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`./support/${name}`, import.meta.url));

/** What the collector does with a record: body + the three envelope fields from attributes and resource. */
export function eventOf(record: ReceivedLogRecord): unknown {
  return {
    ...(record.body as Record<string, unknown>),
    schemaVersion: 1,
    eventId: record.attributes['mcpwatch.event.id'],
    server: {
      name: record.attributes['mcp.server.name'],
      ...(record.attributes['mcp.server.version'] === undefined
        ? {}
        : { version: record.attributes['mcp.server.version'] }),
    },
  };
}

/** A one-file server whose first line loads mcpwatch, run with `node -e` from the package root (self-reference). */
function serverSource(name: string, firstLine: string, style: 'import' | 'require'): string {
  const load =
    style === 'import'
      ? `import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
         import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';`
      : `const { McpServer } = require('@modelcontextprotocol/sdk/server/mcp.js');
         const { StdioServerTransport } = require('@modelcontextprotocol/sdk/server/stdio.js');`;
  return `${firstLine}
    ${load}
    const server = new McpServer({ name: 'fixture-${name}', version: '1.0.0' }, { instructions: 'Use echo to echo.' });
    server.tool('echo', 'Echoes.', () => ({ content: [{ type: 'text', text: 'echoed' }] }));
    server.connect(new StdioServerTransport());`;
}

async function echoTwice(client: Client): Promise<void> {
  const listed = await client.listTools();
  assert.ok(listed.tools.some((tool) => tool.name === 'echo'));
  const echoed = await client.callTool({ name: 'echo', arguments: {} });
  assert.deepEqual(echoed.content, [{ type: 'text', text: 'echoed' }]);
}

let receiver: OtlpReceiver;
let endpoint: string;

before(async () => {
  receiver = new OtlpReceiver();
  endpoint = await receiver.start();
});
after(() => receiver.stop());

/** Runs one client session against a spawned server and waits until its telemetry has been received. */
async function session(
  args: string[],
  env: Record<string, string> = {},
  work: (client: Client) => Promise<void> = echoTwice,
): Promise<{ logs: ReceivedLogRecord[]; serviceName: string }> {
  const serviceName = `svc-${Math.random().toString(36).slice(2)}`;
  const transport = new StdioClientTransport({
    command: process.execPath,
    args,
    env: {
      ...(process.env as Record<string, string>),
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_SERVICE_NAME: serviceName,
      OTEL_BLRP_SCHEDULE_DELAY: '50',
      OTEL_BSP_SCHEDULE_DELAY: '50',
      ...env,
    },
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stderr: 'inherit',
  });
  const client = new Client({ name: 'register-test', version: '0.0.1' });
  await client.connect(transport);
  await work(client);
  await client.close();
  // The server flushes on exit (stdin closed → beforeExit, or SIGTERM from the client → re-raised after flush).
  const logs = await waitFor(`the tools/call event and 3 spans of ${serviceName}`, () => {
    const received = receiver.logRecords().filter((record) => record.resource['service.name'] === serviceName);
    const spans = receiver.spans().filter((span) => span.resource['service.name'] === serviceName);
    return (
      received.some((record) => (record.body as { method?: string } | null)?.method === 'tools/call') &&
      spans.length >= 3 &&
      received
    );
  });
  return { logs, serviceName };
}

function assertInstrumented(logs: ReceivedLogRecord[], serviceName: string): void {
  const kinds = new Set(logs.map((record) => kindOfAuditEventName(record.eventName)));
  assert.ok(kinds.has('call') && kinds.has('tool-catalog'), `kinds: ${[...kinds].join(',')}`);
  for (const record of logs) {
    const parsed = parseMcpEvent(eventOf(record));
    assert.ok(parsed.ok, JSON.stringify(parsed));
    assert.equal(record.attributes['event.name'], record.eventName);
  }
  const catalog = logs.find((record) => record.eventName === 'mcpwatch.tool_catalog');
  assert.equal((catalog?.body as { instructions?: string }).instructions, 'Use echo to echo.');
  const spans = receiver.spans().filter((span) => span.resource['service.name'] === serviceName);
  const call = spans.find((span) => span.name === 'tools/call echo');
  assert.ok(call, spans.map((span) => span.name).join(','));
  assert.equal(call.kind, 2); // SERVER
  assert.equal(call.attributes['network.transport'], 'pipe');
  assert.equal(call.attributes['gen_ai.tool.name'], 'echo');
  assert.equal(typeof call.attributes['mcp.protocol.version'], 'string');
}

void describe('mcpwatch/register over stdio', () => {
  void it('instruments McpServer with node --import mcpwatch/register (newest SDK)', async () => {
    const { logs, serviceName } = await session([
      '--import',
      'mcpwatch/register',
      '--import',
      'tsx',
      fixture('stdio-server.ts'),
    ]);
    assertInstrumented(logs, serviceName);
  });

  void it('instruments the low-level Server (newest SDK)', async () => {
    const { logs, serviceName } = await session(
      ['--import', 'mcpwatch/register', '--import', 'tsx', fixture('stdio-server.ts')],
      {
        FIXTURE_API: 'low',
      },
    );
    assertInstrumented(logs, serviceName);
  });

  void it('instruments McpServer and Server of the oldest supported SDK (1.12.0)', async () => {
    for (const api of ['mcp', 'low']) {
      const { logs, serviceName } = await session(
        ['--import', 'mcpwatch/register', '--import', 'tsx', fixture('stdio-server.ts')],
        {
          FIXTURE_SDK: 'oldest',
          FIXTURE_API: api,
        },
      );
      assertInstrumented(logs, serviceName);
    }
  });

  // Plain node (no tsx, whose own loader would load a second copy of the SDK): what a user runs.
  void it('instruments with a static import as the first line of an ESM entry', async () => {
    const { logs } = await session([
      '--input-type=module',
      '-e',
      serverSource('static-import', `import 'mcpwatch/register';`, 'import'),
    ]);
    assert.ok(logs.some((record) => record.attributes['mcp.server.name'] === 'fixture-static-import'));
    assert.ok(logs.every((record) => parseMcpEvent(eventOf(record)).ok));
  });

  void it('instruments with require() from a CommonJS entry', async () => {
    const { logs } = await session(['-e', serverSource('require', `require('mcpwatch/register');`, 'require')]);
    assert.ok(logs.some((record) => record.attributes['mcp.server.name'] === 'fixture-require'));
    assert.ok(logs.every((record) => parseMcpEvent(eventOf(record)).ok));
  });

  void it('preloaded first, loads no SDK at start-up and patches the one the application imports', async () => {
    const { spawnSync } = await import('node:child_process');
    // A second preload records what is loaded after mcpwatch's: an SDK mcpwatch had loaded already is not seen.
    const recordLoads = `data:text/javascript,${encodeURIComponent(`
      import { registerHooks } from 'node:module';
      globalThis.loadedAfterRegister = [];
      registerHooks({ load: (url, context, next) => (globalThis.loadedAfterRegister.push(url), next(url, context)) });`)}`;
    const run = spawnSync(
      process.execPath,
      [
        '--import',
        'mcpwatch/register',
        '--import',
        recordLoads,
        '--input-type=module',
        '-e',
        `const { Server } = await import('@modelcontextprotocol/sdk/server/index.js');
         const patched = Object.getOwnPropertySymbols(Server.prototype).map(String).includes('Symbol(mcpwatch.server.patched)');
         const seen = globalThis.loadedAfterRegister.some((url) => url.endsWith('/@modelcontextprotocol/sdk/dist/esm/server/index.js'));
         console.log(JSON.stringify({ patched, seen }));`,
      ],
      { cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8' },
    );
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { patched: true, seen: true });
  });

  void it('refuses an invalid MCPWATCH_* variable at start, naming it', async () => {
    const { spawnSync } = await import('node:child_process');
    const run = spawnSync(process.execPath, ['--import', 'mcpwatch/register', '-e', ''], {
      env: { ...process.env, MCPWATCH_REAL_IDS: 'yes' },
      encoding: 'utf8',
    });
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /MCPWATCH_REAL_IDS/);
  });

  void it('instruments the reference server-everything, unmodified, with --import mcpwatch/register', async () => {
    const entry = fileURLToPath(
      new URL('../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url),
    );
    let served = 0;
    const { logs, serviceName } = await session(
      ['--import', 'mcpwatch/register', entry, 'stdio'],
      {},
      async (client) => {
        served = (await client.listTools()).tools.length;
        const echoed = await client.callTool({ name: 'echo', arguments: { message: 'hello' } });
        assert.equal(echoed.isError, undefined);
      },
    );
    assert.ok(served > 5);
    const catalog = logs.find((record) => record.eventName === 'mcpwatch.tool_catalog');
    const tools = (catalog?.body as { tools?: { hash?: string }[] } | undefined)?.tools ?? [];
    assert.equal(tools.length, served);
    assert.ok(tools.every((tool) => /^sha256:[0-9a-f]{64}$/.test(tool.hash ?? '')));
    assert.ok(logs.every((record) => parseMcpEvent(eventOf(record)).ok));
    const spans = receiver.spans().filter((span) => span.resource['service.name'] === serviceName);
    assert.ok(spans.some((span) => span.name === 'tools/call echo'));
  });
});
