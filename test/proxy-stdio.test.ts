/**
 * The gateway over stdio, against servers nobody here wrote: the reference servers from npm, run unmodified
 * with no import. The same scripted session direct and through `mcpwatch proxy` gives byte-identical
 * transcripts, and the proxied one's catalog, call and result events arrive at `mcpwatch serve`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { McpEvent } from '../contracts/mcp-event.ts';
import { LOCAL_OS_ISSUER } from '../proxy/identity.ts';
import {
  exportEnv,
  initialize,
  initialized,
  proxyCommand,
  root,
  startWatchedServe,
  StdioTranscript,
} from './support/proxy.ts';
import { waitFor } from './support/wait-for.ts';
import type { WatchedServe } from './support/proxy.ts';

const require = createRequire(import.meta.url);
const everything = join(
  require.resolve('@modelcontextprotocol/server-everything/package.json'),
  '..',
  'dist',
  'index.js',
);
const filesystem = join(
  require.resolve('@modelcontextprotocol/server-filesystem/package.json'),
  '..',
  'dist',
  'index.js',
);

let watched: WatchedServe;
let workDir: string;
before(async () => {
  watched = await startWatchedServe();
  workDir = await mkdtemp(join(tmpdir(), 'mcpwatch-proxy-stdio-'));
});
after(async () => {
  await watched.close();
  await rm(workDir, { recursive: true, force: true });
});

type Step = Record<string, unknown> | string;

/** Runs the script against `args` (node's), returns the whole stdout. */
async function transcript(args: string[], script: readonly Step[], env: NodeJS.ProcessEnv): Promise<Buffer> {
  const session = new StdioTranscript(args, env);
  try {
    for (const step of script) await session.send(step);
  } finally {
    const exit = await session.end();
    assert.ok(exit.code === 0 || exit.signal !== null, `exited ${JSON.stringify(exit)}: ${session.stderr}`);
  }
  return session.bytes;
}

const ofServer = (name: string, kind: McpEvent['kind']): McpEvent[] =>
  watched.events.filter((event) => event.server.name === name && event.kind === kind);

describe('mcpwatch proxy over stdio', () => {
  it('relays server-everything byte for byte and its events reach serve', async () => {
    const script: Step[] = [
      initialize(1),
      initialized,
      'this line is not JSON-RPC',
      { jsonrpc: '2.0', id: 2, method: 'tools/list' },
      { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hello proxy' } } },
      { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'get-sum', arguments: { a: 2, b: 40 } } },
      { jsonrpc: '2.0', id: 5, method: 'prompts/list' },
      { jsonrpc: '2.0', id: 6, method: 'tools/call', params: { name: 'no-such-tool', arguments: {} } },
    ];
    const direct = await transcript([everything, 'stdio'], script, exportEnv(watched.serve.otlpUrl));
    const proxied = await transcript(
      proxyCommand('--', process.execPath, everything, 'stdio'),
      script,
      exportEnv(watched.serve.otlpUrl),
    );
    assert.ok(direct.length > 1000, `a short transcript: ${direct.toString('utf8')}`);
    assert.ok(
      direct.equals(proxied),
      `transcripts differ:\n${direct.toString('utf8')}\n---\n${proxied.toString('utf8')}`,
    );

    const server = 'mcp-servers/everything';
    const catalog = await waitFor('the catalog event', () => ofServer(server, 'tool-catalog')[0]);
    assert.ok(catalog.kind === 'tool-catalog' && catalog.tools.some((tool) => tool.name === 'echo'));
    const calls = await waitFor('three tool calls', () => {
      const found = ofServer(server, 'call').filter((event) => event.kind === 'call' && event.method === 'tools/call');
      return found.length >= 3 ? found : undefined;
    });
    const echo = calls.find((event) => event.kind === 'call' && event.tool === 'echo');
    assert.ok(echo?.kind === 'call');
    assert.equal(echo.outcome, 'ok');
    assert.match(echo.result ?? '', /hello proxy/);
    assert.equal(echo.transport, 'stdio');
    assert.equal(echo.client?.name, 'proxy-test-client');
    assert.equal(echo.principal?.issuer, LOCAL_OS_ISSUER, 'the local OS user is the stdio principal');
    assert.equal(echo.principal?.pseudonymous, true);
    assert.ok(calls.some((event) => event.kind === 'call' && event.tool === 'no-such-tool' && event.outcome !== 'ok'));
  });

  it('relays server-filesystem byte for byte and its events reach serve', async () => {
    await writeFile(join(workDir, 'notes.txt'), 'quarterly numbers\n');
    const script: Step[] = [
      initialize(1, '2025-03-26'),
      initialized,
      { jsonrpc: '2.0', id: 2, method: 'tools/list' },
      { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'list_allowed_directories', arguments: {} } },
      {
        jsonrpc: '2.0',
        id: 4,
        method: 'tools/call',
        params: { name: 'read_text_file', arguments: { path: join(workDir, 'notes.txt') } },
      },
      {
        jsonrpc: '2.0',
        id: 5,
        method: 'tools/call',
        params: { name: 'read_text_file', arguments: { path: '/etc/shadow' } },
      },
    ];
    const env = exportEnv(watched.serve.otlpUrl);
    const direct = await transcript([filesystem, workDir], script, env);
    const proxied = await transcript(
      proxyCommand('--name', 'files', '--', process.execPath, filesystem, workDir),
      script,
      env,
    );
    assert.ok(direct.includes('quarterly numbers'));
    assert.ok(
      direct.equals(proxied),
      `transcripts differ:\n${direct.toString('utf8')}\n---\n${proxied.toString('utf8')}`,
    );

    // Named on the command line: that name holds over the one the server gives itself.
    const server = 'files';
    await waitFor('the catalog event', () => ofServer(server, 'tool-catalog')[0]);
    const read = await waitFor('the read_text_file calls', () => {
      const found = ofServer(server, 'call').filter(
        (event) => event.kind === 'call' && event.tool === 'read_text_file',
      );
      return found.length >= 2 ? found : undefined;
    });
    assert.ok(read.some((event) => event.kind === 'call' && /quarterly numbers/.test(event.result ?? '')));
    assert.ok(
      read.some((event) => event.kind === 'call' && event.outcome !== 'ok'),
      'the denied read is an error',
    );
  });

  it('relays byte for byte while the telemetry export is down', async () => {
    const script: Step[] = [
      initialize(1),
      initialized,
      { jsonrpc: '2.0', id: 2, method: 'tools/list' },
      {
        jsonrpc: '2.0',
        id: 3,
        method: 'tools/call',
        params: { name: 'echo', arguments: { message: 'nobody listens' } },
      },
    ];
    // Nothing listens on port 9: every export fails, the relay must not notice.
    const env = exportEnv('http://127.0.0.1:9');
    const direct = await transcript([everything, 'stdio'], script, env);
    const proxied = await transcript(proxyCommand('--', process.execPath, everything, 'stdio'), script, env);
    assert.ok(direct.includes('nobody listens'));
    assert.ok(
      direct.equals(proxied),
      `transcripts differ:\n${direct.toString('utf8')}\n---\n${proxied.toString('utf8')}`,
    );
  });

  it("passes stderr through and exits with the server's code or signal", async () => {
    const env = exportEnv(watched.serve.otlpUrl);
    const coded = new StdioTranscript(
      proxyCommand('--', process.execPath, '-e', "process.stderr.write('from the server\\n'); process.exit(7)"),
      env,
    );
    assert.deepEqual(await coded.exited, { code: 7, signal: null });
    assert.match(coded.stderr, /from the server/);

    const waiting = new StdioTranscript(
      proxyCommand('--', process.execPath, '-e', "process.stdout.write('ready\\n'); setInterval(() => {}, 1000)"),
      env,
    );
    await waitFor('the server to start', () => waiting.bytes.toString('utf8').includes('ready'));
    waiting.child.kill('SIGTERM');
    assert.deepEqual(await waiting.exited, { code: null, signal: 'SIGTERM' });
  });

  it('fails with a precise error when the command cannot start or no server is given', async () => {
    const run = (args: string[]): Promise<{ code: number | null; stderr: string }> =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, proxyCommand(...args), {
          cwd: root,
          env: exportEnv('http://127.0.0.1:9'),
        });
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
        child.once('exit', (code) => resolve({ code, stderr }));
      });
    const missing = await run(['--', join(workDir, 'no-such-server')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot start ".*no-such-server": ENOENT/);
    const nothing = await run([]);
    assert.equal(nothing.code, 1);
    assert.match(nothing.stderr, /expected --upstream <url> or -- <command\.\.\.>/);
  });
});
