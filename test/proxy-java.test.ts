/**
 * A server in another language, watched from outside: a stdio server on the official Java MCP SDK
 * (`io.modelcontextprotocol.sdk:mcp` from Maven Central; test/fixtures/java-mcp-server) runs through
 * `mcpwatch proxy` unchanged. Its poisoned tool raises `tool-poisoning` at `mcpwatch serve`; with `--enforce`
 * the tool is withheld and its calls refused until `mcpwatch proxy approve`, each decision an audit event.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { TOOL_WITHHELD_ERROR_CODE } from '../proxy/enforcement.ts';
import {
  cli,
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

const fixtureDir = fileURLToPath(new URL('fixtures/java-mcp-server/', import.meta.url));
const SERVER = 'java-poisoned';

/**
 * The fixture's runtime classpath from Maven (offline first) plus the server compiled once with javac, cached
 * under the hash of the pom and the source like the Kafka recipe's classpath: a JVM then starts in a second.
 */
async function javaClasspath(): Promise<string> {
  const pom = await readFile(join(fixtureDir, 'pom.xml'));
  const source = await readFile(join(fixtureDir, 'PoisonedServer.java'));
  const hash = createHash('sha256').update(pom).update(source).digest('hex').slice(0, 16);
  const cacheDir = join(root, 'test-artifacts');
  const cacheFile = join(cacheDir, `java-mcp-server-classpath-${hash}.txt`);
  const classes = join(cacheDir, `java-mcp-server-classes-${hash}`);
  if (existsSync(cacheFile) && existsSync(join(classes, 'PoisonedServer.class'))) {
    const cached = (await readFile(cacheFile, 'utf8')).trim();
    if (cached !== '' && cached.split(delimiter).every((jar) => existsSync(jar)))
      return `${cached}${delimiter}${classes}`;
  }
  await mkdir(cacheDir, { recursive: true });
  const resolving = `${cacheFile}.${randomUUID().slice(0, 8)}.tmp`;
  const args = [
    '-B',
    '-q',
    'dependency:build-classpath',
    `-Dmdep.outputFile=${resolving}`,
    '-Dmdep.includeScope=runtime',
  ];
  try {
    await promisify(execFile)('mvn', ['-o', ...args], { cwd: fixtureDir, timeout: 300_000 });
  } catch {
    // Not in the local repository yet: let Maven fetch it.
    await promisify(execFile)('mvn', args, { cwd: fixtureDir, timeout: 600_000 });
  }
  const classpath = (await readFile(resolving, 'utf8')).trim();
  const compiling = `${classes}.${randomUUID().slice(0, 8)}.tmp`;
  await promisify(execFile)(
    'javac',
    ['-nowarn', '-d', compiling, '-cp', classpath, join(fixtureDir, 'PoisonedServer.java')],
    {
      timeout: 300_000,
    },
  );
  await rm(classes, { recursive: true, force: true });
  await rename(compiling, classes);
  await rename(resolving, cacheFile);
  return `${classpath}${delimiter}${classes}`;
}

let watched: WatchedServe;
let classpath: string;
let workDir: string;
before(async () => {
  [watched, classpath, workDir] = await Promise.all([
    startWatchedServe(),
    javaClasspath(),
    mkdtemp(join(tmpdir(), 'mcpwatch-proxy-java-')),
  ]);
});
after(async () => {
  await watched.close();
  await rm(workDir, { recursive: true, force: true });
});

const javaServer = (): string[] => ['java', '-XX:TieredStopAtLevel=1', '-cp', classpath, 'PoisonedServer'];
/** The first answer waits for the JVM to start, which a loaded machine slows down. */
const JVM_START_MS = 240_000;
const toolNames = (response: Record<string, unknown> | undefined): string[] =>
  ((response?.['result'] as { tools?: { name: string }[] } | undefined)?.tools ?? []).map((tool) => tool.name).sort();
const call = (id: number, name: string, args: Record<string, unknown>): Record<string, unknown> => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args },
});

describe('mcpwatch proxy in front of a Java MCP server', () => {
  it('watches it unchanged: its poisoned tool raises tool-poisoning', async () => {
    const session = new StdioTranscript(proxyCommand('--', ...javaServer()), exportEnv(watched.serve.otlpUrl));
    try {
      const init = await session.send(initialize(1), JVM_START_MS);
      assert.equal((init?.['result'] as { serverInfo: { name: string } }).serverInfo.name, SERVER);
      await session.send(initialized);
      assert.deepEqual(toolNames(await session.send({ jsonrpc: '2.0', id: 2, method: 'tools/list' })), [
        'add',
        'multiply',
      ]);
      const product = await session.send(call(3, 'multiply', { a: 6, b: 7 }));
      assert.match(JSON.stringify(product), /42/);
    } finally {
      await session.end();
    }
    const alert = await waitFor('a tool-poisoning alert', () =>
      watched.serve.store.alerts({ ruleId: 'tool-poisoning' }).find((found) => found.entities.server === SERVER),
    );
    assert.equal(alert.entities.tool, 'add');
    await waitFor('the multiply call event', () =>
      watched.events.find(
        (event) => event.server.name === SERVER && event.kind === 'call' && event.tool === 'multiply',
      ),
    );
  });

  it('with --enforce withholds the flagged tool until it is approved', async () => {
    const pins = join(workDir, 'pins.json');
    const enforced = (): StdioTranscript =>
      new StdioTranscript(
        proxyCommand('--enforce', '--pins', pins, '--name', SERVER, '--', ...javaServer()),
        exportEnv(watched.serve.otlpUrl),
      );

    const first = enforced();
    try {
      await first.send(initialize(1), JVM_START_MS);
      await first.send(initialized);
      assert.deepEqual(toolNames(await first.send({ jsonrpc: '2.0', id: 2, method: 'tools/list' })), ['multiply']);
      const refused = await first.send(call(3, 'add', { a: 2, b: 3 }));
      const error = refused?.['error'] as { code: number; message: string } | undefined;
      assert.equal(error?.code, TOOL_WITHHELD_ERROR_CODE);
      assert.match(
        error?.message ?? '',
        /tool "add" is withheld: .*content rules.*mcpwatch proxy approve java-poisoned add/,
      );
      assert.match(JSON.stringify(await first.send(call(4, 'multiply', { a: 6, b: 7 }))), /42/);
    } finally {
      await first.end();
    }
    const pinned = JSON.parse(await readFile(pins, 'utf8')) as {
      tools: Record<string, { hash?: string; pending?: unknown }>;
    };
    assert.ok(pinned.tools['multiply']?.hash !== undefined && pinned.tools['add']?.pending !== undefined);

    const approval = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', cli, 'proxy', 'approve', SERVER, 'add', '--pins', pins],
      { cwd: root, env: exportEnv(watched.serve.otlpUrl) },
    );
    assert.match(approval.stdout, /approved add at sha256:[0-9a-f]{64}/);

    const second = enforced();
    try {
      await second.send(initialize(1), JVM_START_MS);
      await second.send(initialized);
      assert.deepEqual(toolNames(await second.send({ jsonrpc: '2.0', id: 2, method: 'tools/list' })), [
        'add',
        'multiply',
      ]);
      assert.match(JSON.stringify(await second.send(call(3, 'add', { a: 2, b: 3 }))), /"5\.0"/);
    } finally {
      await second.end();
    }

    const decisions = await waitFor('block, pin and approval events', () => {
      const found = watched.events.filter((event) => event.kind === 'enforcement' && event.server.name === SERVER);
      const seen = new Set(
        found.map((event) =>
          event.kind === 'enforcement' ? `${event.action}:${event.tool}:${event.appliedTo ?? ''}` : '',
        ),
      );
      return ['blocked:add:tools/list', 'blocked:add:tools/call', 'pinned:multiply:', 'approved:add:'].every((key) =>
        seen.has(key),
      )
        ? found
        : undefined;
    });
    const blocked = decisions.find((event) => event.kind === 'enforcement' && event.action === 'blocked');
    assert.ok(blocked?.kind === 'enforcement' && blocked.reason === 'flagged' && (blocked.signals ?? []).length > 0);
  });
});
