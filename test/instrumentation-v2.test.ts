/**
 * `mcpwatch/register` with SDK 2.x (`@modelcontextprotocol/server`), the newest and the oldest 2.x, loaded the
 * three ways (`--import`, static `import`, `require`), over real stdio and Streamable HTTP, driven by the real
 * 2.x client speaking 2026-07-28 (stateless: identity and version in `_meta`) or the 2025 handshake. Spans and
 * audit events arrive at a local OTLP/HTTP receiver and satisfy the contract.
 * Needs `dist/` (`npm run build`): the package's self-reference `mcpwatch/register` points there.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { OtlpReceiver } from './support/otlp-receiver.ts';
import type { ReceivedLogRecord } from './support/otlp-receiver.ts';
import { waitFor } from './support/wait-for.ts';
import { parseMcpEvent } from '../contracts/parse.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixture = (name: string): string => fileURLToPath(new URL(`./support/${name}`, import.meta.url));
const MODERN = '2026-07-28';

/** What the collector does with a record: body + the envelope fields from its attributes. */
function eventOf(record: ReceivedLogRecord): unknown {
  return {
    ...(record.body as Record<string, unknown>),
    schemaVersion: 1,
    eventId: record.attributes['mcpwatch.event.id'],
    server: { name: record.attributes['mcp.server.name'] },
  };
}

let receiver: OtlpReceiver;
let endpoint: string;
before(async () => {
  receiver = new OtlpReceiver();
  endpoint = await receiver.start();
});
after(() => receiver.stop());

function otelEnv(serviceName: string): Record<string, string> {
  return {
    ...(process.env as Record<string, string>),
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_SERVICE_NAME: serviceName,
    OTEL_BLRP_SCHEDULE_DELAY: '50',
    OTEL_BSP_SCHEDULE_DELAY: '50',
  };
}

const newClient = (modern: boolean): Client =>
  new Client(
    { name: modern ? 'modern-test-client' : 'legacy-test-client', version: '0.0.1' },
    modern ? { versionNegotiation: { mode: { pin: MODERN } } } : {},
  );

async function echo(client: Client): Promise<void> {
  assert.ok((await client.listTools()).tools.some((tool) => tool.name === 'echo'));
  const echoed = await client.callTool({ name: 'echo', arguments: {} });
  assert.deepEqual(echoed.content, [{ type: 'text', text: 'echoed' }]);
}

/** The parsed audit events of one service, once its `tools/call` event has arrived. */
async function eventsOf(serviceName: string): Promise<Record<string, unknown>[]> {
  const logs = await waitFor(`the tools/call event of ${serviceName}`, () => {
    const received: ReceivedLogRecord[] = receiver
      .logRecords()
      .filter((record) => record.resource['service.name'] === serviceName);
    return received.some((record) => (record.body as { method?: string } | null)?.method === 'tools/call') && received;
  });
  return logs.map((record) => {
    const parsed = parseMcpEvent(eventOf(record));
    assert.ok(parsed.ok, JSON.stringify(parsed));
    return parsed.value;
  });
}

async function stdioSession(args: string[], env: Record<string, string>, modern: boolean) {
  const serviceName = `svc-${Math.random().toString(36).slice(2)}`;
  const transport = new StdioClientTransport({
    command: process.execPath,
    args,
    env: { ...otelEnv(serviceName), ...env },
    cwd: root,
    stderr: 'inherit',
  });
  const client = newClient(modern);
  await client.connect(transport);
  await echo(client);
  await client.close();
  return eventsOf(serviceName);
}

const call = (events: Record<string, unknown>[]) =>
  events.find((event) => event['kind'] === 'call' && event['method'] === 'tools/call') as Record<string, unknown> & {
    client?: Record<string, unknown>;
  };

function assertModern(events: Record<string, unknown>[], server: string): void {
  const toolCall = call(events);
  assert.equal(toolCall['stateless'], true);
  assert.equal(toolCall['protocolVersion'], MODERN);
  assert.equal(toolCall['tool'], 'echo');
  assert.equal(toolCall.client?.['name'], 'modern-test-client');
  assert.equal(toolCall['sessionId'], undefined);
  assert.deepEqual((toolCall['server'] as { name: string }).name, server);
  const catalog = events.find((event) => event['kind'] === 'tool-catalog');
  assert.equal(catalog?.['protocolVersion'], MODERN);
  assert.equal(catalog?.['instructions'], 'Use echo to echo.');
  assert.ok(events.every((event) => event['kind'] !== 'session'));
}

void describe('mcpwatch/register with SDK 2.x', () => {
  const stdio = ['--import', 'mcpwatch/register', '--import', 'tsx', fixture('stdio-server-v2.ts')];

  void it('newest 2.x over stdio (serveStdio): a 2026-07-28 client is followed per request', async () => {
    assertModern(await stdioSession(stdio, {}, true), 'fixture-stdio-v2');
  });

  void it('newest 2.x over stdio (McpServer.connect): the 2025 handshake names the client', async () => {
    const events = await stdioSession(stdio, { FIXTURE_ENTRY: 'connect' }, false);
    const toolCall = call(events);
    assert.equal(toolCall['stateless'], undefined);
    assert.equal(toolCall.client?.['name'], 'legacy-test-client');
    assert.ok(events.some((event) => event['kind'] === 'call' && event['method'] === 'initialize'));
  });

  void it('oldest 2.x (2.0.0) over stdio, both protocol generations', async () => {
    assertModern(await stdioSession(stdio, { FIXTURE_SDK: 'oldest' }, true), 'fixture-stdio-v2');
    const legacy = await stdioSession(stdio, { FIXTURE_SDK: 'oldest', FIXTURE_ENTRY: 'connect' }, false);
    assert.equal(call(legacy).client?.['name'], 'legacy-test-client');
  });

  // Plain node, no tsx: what a user runs.
  const source = (first: string, style: 'import' | 'require'): string => `${first}
    ${
      style === 'import'
        ? `import { McpServer } from '@modelcontextprotocol/server';
           import { serveStdio } from '@modelcontextprotocol/server/stdio';`
        : `const { McpServer } = require('@modelcontextprotocol/server');
           const { serveStdio } = require('@modelcontextprotocol/server/stdio');`
    }
    serveStdio(() => {
      const server = new McpServer({ name: 'fixture-${style}-v2', version: '2.0.0' }, { instructions: 'Use echo to echo.' });
      server.registerTool('echo', { description: 'Echoes.' }, () => ({ content: [{ type: 'text', text: 'echoed' }] }));
      return server;
    });`;

  void it('a static import as the first line of an ESM entry', async () => {
    const events = await stdioSession(
      ['--input-type=module', '-e', source(`import 'mcpwatch/register';`, 'import')],
      {},
      true,
    );
    assertModern(events, 'fixture-import-v2');
  });

  void it('require() from a CommonJS entry', async () => {
    const events = await stdioSession(['-e', source(`require('mcpwatch/register');`, 'require')], {}, true);
    assertModern(events, 'fixture-require-v2');
  });

  void it('createMcpHandler over Streamable HTTP: Mcp-Method and Mcp-Name recorded next to the body, and the client address', async () => {
    const serviceName = `svc-${Math.random().toString(36).slice(2)}`;
    const child = spawn(
      process.execPath,
      ['--import', 'mcpwatch/register', '--import', 'tsx', fixture('http-server-v2.ts')],
      { cwd: root, env: otelEnv(serviceName), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /listening (\S+)/.exec(out);
          if (match?.[1] !== undefined) resolve(match[1]);
        });
        child.once('exit', (code) => reject(new Error(`server exited with ${String(code)}: ${out}`)));
      });
      const client = newClient(true);
      await client.connect(new StreamableHTTPClientTransport(new URL(url)));
      await echo(client);
      await client.close();
      const events = await eventsOf(serviceName);
      assertModern(events, 'fixture-http-v2');
      const toolCall = call(events);
      assert.equal(toolCall['transport'], 'streamable-http');
      assert.deepEqual(toolCall['mcpHeaders'], { method: 'tools/call', name: 'echo', protocolVersion: MODERN });
      // The web Request createMcpHandler serves has no peer address; the node:http request's is recorded.
      assert.equal(toolCall.client?.['address'], '127.0.0.1');
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });
});
