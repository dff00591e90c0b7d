/**
 * The instrumentation never changes protocol behaviour: the official MCP conformance suite
 * (`@modelcontextprotocol/conformance`, every server scenario, pending ones included) runs against the same
 * fixture server, on SDK 1.x and on SDK 2.x, started bare and started with `node --import mcpwatch/register`, and every scenario's check
 * outcomes must be identical, while the instrumented run provably exported spans and audit events to a local
 * OTLP receiver.
 * Needs `dist/` (`npm run build`): the package's self-reference `mcpwatch/register` points there.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { OtlpReceiver } from './support/otlp-receiver.ts';
import { waitFor } from './support/wait-for.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
/** The SDK lines compared: 1.x with the full fixture (every scenario must pass bare), 2.x with a subset. */
const FIXTURES = [
  { sdk: '1.x', file: 'fixtures/conformance-server.ts', complete: true },
  { sdk: '2.x', file: 'fixtures/conformance-server-v2.ts', complete: false },
] as const;
const suiteCli = join(
  createRequire(import.meta.url).resolve('@modelcontextprotocol/conformance/package.json'),
  '..',
  'dist',
  'index.js',
);

/** Scenario name → its checks as `id=STATUS`, in the suite's order (details carry timestamps, so not compared). */
type Outcomes = Record<string, string[]>;

async function startServer(
  fixture: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [...args, '--import', 'tsx', fixture], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    // Generous: the shared build machine can take long to load tsx and the SDK under load.
    const timer = setTimeout(() => reject(new Error(`fixture did not start: ${out}`)), 120_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening (\S+)/.exec(out);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fixture exited with ${String(code)}: ${out}`));
    });
  });
  return { url, child };
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** Runs every server scenario (active and pending) against `url`; returns each one's outcomes from checks.json. */
async function runSuite(url: string): Promise<Outcomes> {
  const outputDir = await mkdtemp(join(tmpdir(), 'mcpwatch-conformance-'));
  try {
    await new Promise<void>((resolve, reject) => {
      // The exit code only says whether some check failed; the outcomes are compared below instead.
      execFile(
        process.execPath,
        [suiteCli, 'server', '--url', url, '--suite', 'all', '--output-dir', outputDir],
        { cwd: root, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
        (error) =>
          error !== null && error.code === undefined
            ? reject(new Error('the conformance suite did not run', { cause: error }))
            : resolve(),
      );
    });
    const outcomes: Outcomes = {};
    for (const entry of (await readdir(outputDir)).sort()) {
      const scenario = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(entry)?.[1];
      assert.ok(scenario !== undefined, `unexpected result folder ${entry}`);
      const checks = JSON.parse(await readFile(join(outputDir, entry, 'checks.json'), 'utf8')) as {
        id: string;
        status: string;
      }[];
      outcomes[scenario] = checks.map((check) => `${check.id}=${check.status}`);
    }
    return outcomes;
  } finally {
    await rm(outputDir, { recursive: true, force: true });
  }
}

const count = (outcomes: Outcomes, status: string): number =>
  Object.values(outcomes)
    .flat()
    .filter((check) => check.endsWith(`=${status}`)).length;

let receiver: OtlpReceiver;
let endpoint: string;

before(async () => {
  receiver = new OtlpReceiver();
  endpoint = await receiver.start();
});
after(() => receiver.stop());

void describe('official MCP conformance suite, bare vs instrumented', () => {
  for (const { sdk, file, complete } of FIXTURES) {
    void it(`gives identical per-scenario outcomes with and without mcpwatch/register (SDK ${sdk})`, async (t) => {
      const fixture = fileURLToPath(new URL(file, import.meta.url));
      const serviceName = `conformance-${sdk}-${process.pid}`;
      const otel = {
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        OTEL_SERVICE_NAME: serviceName,
        OTEL_BLRP_SCHEDULE_DELAY: '50',
        OTEL_BSP_SCHEDULE_DELAY: '50',
      };

      const bareServer = await startServer(fixture, [], otel);
      let bare: Outcomes;
      try {
        bare = await runSuite(bareServer.url);
      } finally {
        await stopServer(bareServer.child);
      }
      const exported = (): number =>
        receiver.spans().filter((span) => span.resource['service.name'] === serviceName).length +
        receiver.logRecords().filter((record) => record.resource['service.name'] === serviceName).length;
      assert.equal(exported(), 0, 'the bare server exported telemetry: it was not bare');

      const instrumentedServer = await startServer(fixture, ['--import', 'mcpwatch/register'], otel);
      let instrumented: Outcomes;
      try {
        instrumented = await runSuite(instrumentedServer.url);
        // Proof the run was instrumented: spans and audit events (exported in their own batches) both arrive.
        await waitFor('the instrumented run to export spans and audit events', () => {
          const ours = receiver.logRecords().filter((record) => record.resource['service.name'] === serviceName);
          return (
            receiver
              .spans()
              .some(
                (span) => span.resource['service.name'] === serviceName && span.name === 'tools/call test_simple_text',
              ) &&
            ours.some((record) => record.eventName === 'mcpwatch.call') &&
            ours.some((record) => record.eventName === 'mcpwatch.tool_catalog')
          );
        });
      } finally {
        await stopServer(instrumentedServer.child);
      }

      const spans = receiver.spans().filter((span) => span.resource['service.name'] === serviceName);
      const spanNames = new Set(spans.map((span) => span.name));
      for (const name of ['tools/list', 'tools/call test_simple_text', 'prompts/get test_simple_prompt'])
        assert.ok(spanNames.has(name), `no span ${name}; got ${[...spanNames].join(', ')}`);
      const events = new Set(
        receiver
          .logRecords()
          .filter((record) => record.resource['service.name'] === serviceName)
          .map((record) => record.eventName),
      );
      assert.ok(events.has('mcpwatch.tool_catalog') && events.has('mcpwatch.call'), [...events].join(', '));

      assert.ok(Object.keys(bare).length >= 32, `only ${Object.keys(bare).length} scenarios ran`);
      // The 2.x fixture serves a subset: its other scenarios fail, the same way bare and instrumented.
      if (complete) assert.equal(count(bare, 'FAILURE'), 0, JSON.stringify(bare, null, 1));
      else assert.ok(count(bare, 'SUCCESS') >= 10, `only ${count(bare, 'SUCCESS')} checks passed`);
      assert.deepEqual(instrumented, bare);
      t.diagnostic(
        `conformance (SDK ${sdk}): ${Object.keys(bare).length} scenarios; ` +
          `bare ${count(bare, 'SUCCESS')} passed / ${count(bare, 'FAILURE')} failed; ` +
          `instrumented ${count(instrumented, 'SUCCESS')} passed / ${count(instrumented, 'FAILURE')} failed; ` +
          `${spans.length} spans exported`,
      );
    });
  }
});
