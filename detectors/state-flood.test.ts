/**
 * A flood of distinct keys must not blind the detectors (issue #14, finding 2): events with distinct
 * session, principal and server (the report's 240k against 64 MiB, scaled to 20k against 2 MiB) through the `serve` wiring (embedded log, one partition, whole catalog) fill
 * the state log; the oldest state is shed (counted), detection keeps running, and a known attack afterwards
 * still alerts. And health turns red whenever detection is not running.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import type { McpEvent } from '../contracts/mcp-event.ts';
import { McpwatchError } from '../contracts/errors.ts';
import { callEvent } from '../test/detectors-test-rule.ts';
import { fixtureDeployment, produceEvents, readAlertsFile } from '../test/detectors-support.ts';
import { EmbeddedTransport } from '../transport/embedded.ts';
import { TOPICS } from '../transport/topics.ts';
import { parseDetectorsConfig } from './config.ts';
import { loadEvents, runCatalog } from './rules/fixtures/environment.ts';
import { RULES } from './rules/index.ts';
import { startDetectors } from './runtime.ts';
import { createSinks } from './sinks/index.ts';
import type { AlertSink } from './sinks/types.ts';
import { waitFor } from '../test/support/wait-for.ts';

/** Sized to run well under a minute on 2 cores: the 2 MiB state log overflows several times over. */
const FLOOD = 20_000;
const ATTACK = path.join(import.meta.dirname, 'rules/fixtures/session-reuse-across-users/positive');
/** The first recorded attack of the directory (beside it, `expected.json` says what each one raises). */
const firstFixture = (): string =>
  readdirSync(ATTACK)
    .filter((name) => name.endsWith('.jsonl'))
    .sort()[0]!;

void describe('state flood and detector health', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(path.join(tmpdir(), 'mcpwatch-flood-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  void test('a flood of distinct keys fills the state log: oldest state shed, detection goes on, an attack alerts', async () => {
    // A 32nd of serve's default cap, so that a flood a 12th of the reported one overfills it more often.
    const transport = new EmbeddedTransport({ maxBytesPerTopic: 2 * 1024 * 1024 });
    const out = path.join(dir, 'flood.jsonl');
    const config = parseDetectorsConfig({ ...fixtureDeployment(), sinks: [{ type: 'file', path: out }] }, RULES);
    const runtime = await startDetectors({
      transport,
      config,
      sinks: createSinks(config.sinks, { transport }),
      eventPartitions: 1,
      logger: pino({ level: 'silent' }),
    });
    try {
      const start = Date.parse('2026-03-01T00:00:00.000Z');
      const producer = await transport.producer();
      for (let sent = 0; sent < FLOOD;) {
        const chunk: McpEvent[] = [];
        for (let index = sent; index < Math.min(FLOOD, sent + 2_000); index += 1) {
          const event = callEvent(`flood-${index}`, 0, `session-${index}`, `principal-${index}`);
          chunk.push({ ...event, time: new Date(start + index).toISOString(), server: { name: `server-${index}` } });
        }
        try {
          await produceEvents(transport, TOPICS.events, chunk);
          sent += chunk.length;
        } catch (error) {
          // The events log is full until the detectors commit past what they read: wait for them.
          if (!(error instanceof McpwatchError && error.code === 'LIMIT_EXCEEDED')) throw error;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
      await producer.close();
      const processed = async (count: number): Promise<boolean> =>
        ((await runtime.metrics.replayedEventsSkipped.get()).values[0]?.value ?? 0) >= 0 &&
        (await runtime.metrics.batchSeconds.get()).values.find((value) => value.metricName?.endsWith('_count'))!
          .value >= count;
      await waitFor('the flood to be processed', () => processed(FLOOD / 500), 60_000);
      const shed = (await runtime.metrics.evictions.get()).values.find((value) => value.labels.reason === 'shed');
      assert.ok((shed?.value ?? 0) > 0, 'the full state log made the runtime shed state');
      assert.equal(runtime.running(), true, 'detection is still running');

      const attack = loadEvents(path.join(ATTACK, firstFixture())).map((event) => ({
        ...event,
        time: new Date(
          start + 86_400_000 + Date.parse(event.time) - Date.parse('2026-03-02T09:00:00.000Z'),
        ).toISOString(),
      }));
      const expected = runCatalog(attack).alerts.map((alert) => alert.alertId);
      assert.ok(expected.length > 0);
      await produceEvents(transport, TOPICS.events, attack);
      await waitFor('the attack to alert after the flood', async () => {
        const raised = new Set((await readAlertsFile(out)).map((alert) => alert.alertId));
        return expected.every((id) => raised.has(id));
      });
    } finally {
      await runtime.close();
      await transport.close();
    }
  });

  void test('health and readiness turn 503 when the consumer has stopped', async () => {
    const transport = new EmbeddedTransport();
    const refusing: AlertSink = {
      name: 'refusing',
      deliver: () => Promise.reject(new McpwatchError('DELIVERY_FAILED', 'refused for the test', { retriable: false })),
      health: () => Promise.resolve({ healthy: true }),
      close: () => Promise.resolve(),
    };
    const config = parseDetectorsConfig({ ops: { port: 0 } }, [
      (await import('../test/detectors-test-rule.ts')).sessionTwoPrincipals,
    ]);
    const runtime = await startDetectors({
      transport,
      config,
      sinks: [refusing],
      eventPartitions: 1,
      logger: pino({ level: 'silent' }),
    });
    try {
      await waitFor('readiness', async () => (await fetch(`${runtime.opsAddress!}/readyz`)).status === 200);
      assert.equal((await fetch(`${runtime.opsAddress!}/healthz`)).status, 200);
      await produceEvents(transport, TOPICS.events, [
        callEvent('e1', 0, 's1', 'alice'),
        callEvent('e2', 1, 's1', 'bob'),
      ]);
      await assert.rejects(runtime.done, /refused for the test|did not confirm/);
      assert.equal(runtime.running(), false);
      assert.equal((await fetch(`${runtime.opsAddress!}/healthz`)).status, 503);
      const readiness = await fetch(`${runtime.opsAddress!}/readyz`);
      assert.equal(readiness.status, 503);
      assert.match(await readiness.text(), /detection is not running/);
    } finally {
      await runtime.close();
      await transport.close();
    }
  });

  void test('serve answers /healthz and /readyz 503 once its detection stopped', async () => {
    const refusing: AlertSink = {
      name: 'refusing',
      deliver: () => Promise.reject(new McpwatchError('DELIVERY_FAILED', 'refused for the test', { retriable: false })),
      health: () => Promise.resolve({ healthy: true }),
      close: () => Promise.resolve(),
    };
    const { startServe } = await import('../cli/serve.ts');
    const serve = await startServe({
      host: '127.0.0.1',
      port: 0,
      dashboardPort: false,
      config: parseDetectorsConfig(
        { ...fixtureDeployment(), sinks: [{ type: 'file', path: path.join(dir, 'serve.jsonl') }] },
        RULES,
      ),
      extraSinks: [refusing],
      logger: pino({ level: 'silent' }),
    });
    try {
      await waitFor('serve to be ready', async () => (await fetch(`${serve.otlpUrl}/readyz`)).status === 200);
      const attack = loadEvents(path.join(ATTACK, firstFixture()));
      await produceEvents(serve.transport, TOPICS.events, attack);
      assert.equal((await fetch(`${serve.otlpUrl}/healthz`)).status, 200);
      await assert.rejects(serve.detectors.done);
      assert.equal((await fetch(`${serve.otlpUrl}/readyz`)).status, 503);
      assert.equal((await fetch(`${serve.otlpUrl}/healthz`)).status, 503);
    } finally {
      await serve.close();
    }
  });
});
