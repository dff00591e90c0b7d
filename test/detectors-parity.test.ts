/**
 * Same input, same alerts, at any scale: one stream built from every rule's positive fixtures (twice, the
 * second copy with other sessions and principals, three hours later) gives the same set of alert ids from
 * `replay` (one engine), from `serve` (the embedded log, one partition) and from Kafka with 12 partitions and
 * three detector processes, one of them SIGKILLed mid-stream.
 *
 * Scenarios share server names, so the engines of the server and global scopes read events of several events
 * partitions, interleaved as they arrive (directly, or later after a hop). They hold what they read and run it
 * in event-time order. The Kafka run feeds the stream free-running, all at once: its events, months apart in
 * event time, arrive within seconds in any interleaving, so the allowed lateness covers the whole recording and
 * the engines run what they hold once they idle. Session engines run what they read at once; tool catalogs reach
 * them after a hop from partitions far ahead or behind (more so while the killed instance's partitions wait for
 * their new owner), and must not move their clock past sessions still to be read.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { pino } from 'pino';
import { startServe } from '../cli/serve.ts';
import type { McpEvent } from '../contracts/mcp-event.ts';
import { parseDetectorsConfig, type DetectorsConfig } from '../detectors/config.ts';
import { replayFile } from '../detectors/replay.ts';
import { loadEvents } from '../detectors/rules/fixtures/environment.ts';
import { RULES } from '../detectors/rules/index.ts';
import { anyRuleWants, repartitionTopicOf, rulesByScope } from '../detectors/scopes.ts';
import { createSinks } from '../detectors/sinks/index.ts';
import { KafkaTransport } from '../transport/kafka.ts';
import { TOPICS } from '../transport/topics.ts';
import {
  DetectorsWorker,
  fixtureDeployment,
  produceEvents,
  readAlertsFile,
  readAlertsTopic,
  waitForAlerts,
  type WorkerSetup,
} from './detectors-support.ts';
import { kafkaBrokers, uniqueTopic } from './support/kafka.ts';
import { waitFor } from './support/wait-for.ts';
import { readdirSync } from 'node:fs';

const FIXTURES = path.join(import.meta.dirname, '../detectors/rules/fixtures');
const PARTITIONS = 12;
/**
 * Allowed lateness beyond the recording's span (March to September): fed at once, any interleaving of its
 * partitions is on time. Engines idle, and so run what they hold, only well after the failover has passed.
 */
const ENGINE = { allowedLatenessMs: 366 * 86_400_000, idlePartitionMs: 20_000 };

/** Every positive fixture, in event-time order as replay sorts them, plus a second copy three hours later. */
function recordedStream(): McpEvent[] {
  const original: McpEvent[] = [];
  for (const rule of RULES) {
    const dir = path.join(FIXTURES, rule.meta.id, 'positive');
    for (const file of readdirSync(dir)
      .filter((name) => name.endsWith('.jsonl'))
      .sort())
      original.push(...loadEvents(path.join(dir, file)));
  }
  const copy = original.map((event) => {
    const shifted = JSON.parse(JSON.stringify(event)) as McpEvent & { boundPrincipalId?: string };
    shifted.eventId = `${event.eventId}~2`;
    shifted.time = new Date(Date.parse(event.time) + 3 * 3_600_000).toISOString();
    if (shifted.sessionId !== undefined) shifted.sessionId = `${shifted.sessionId}~2`;
    if (shifted.principal !== undefined) shifted.principal = { ...shifted.principal, id: `${shifted.principal.id}~2` };
    if (shifted.boundPrincipalId !== undefined) shifted.boundPrincipalId = `${shifted.boundPrincipalId}~2`;
    return shifted;
  });
  return [...original, ...copy]
    .map((event, index) => ({ event, index, time: Date.parse(event.time) }))
    .sort((a, b) => a.time - b.time || a.index - b.index)
    .map(({ event }) => event);
}

function parityConfig(sinks: unknown[]): DetectorsConfig {
  return parseDetectorsConfig({ engine: ENGINE, ...fixtureDeployment(), sinks }, RULES);
}

/** Distinct `<rule> <alert id>`, sorted: a difference names the rule. */
const idsOf = (alerts: readonly { ruleId: string; alertId: string }[]): string[] =>
  [...new Set(alerts.map((alert) => `${alert.ruleId} ${alert.alertId}`))].sort();

void describe('same alert ids from replay, serve and Kafka with 12 partitions and 3 instances', () => {
  let dir: string;
  let stream: McpEvent[];
  let replayed: string[];
  const workers: DetectorsWorker[] = [];
  let transport: KafkaTransport | undefined;
  let admin: Admin | undefined;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mcpwatch-parity-'));
    stream = recordedStream();
  });
  after(async () => {
    await Promise.all(workers.map((worker) => worker.kill()));
    await admin?.disconnect();
    await transport?.close();
    await rm(dir, { recursive: true, force: true });
  });

  void test('replay: one engine over the recorded stream exercises every rule', async () => {
    const file = path.join(dir, 'stream.jsonl');
    await writeFile(file, stream.map((event) => JSON.stringify(event)).join('\n') + '\n');
    const out = path.join(dir, 'replay.jsonl');
    const config = parityConfig([{ type: 'file', path: out }]);
    const sinks = createSinks(config.sinks, {});
    await replayFile(file, { config, sinks, progress: false });
    await Promise.all(sinks.map((sink) => sink.close()));
    const alerts = await readAlertsFile(out);
    replayed = idsOf(alerts);
    assert.deepEqual(
      [...new Set(alerts.map((alert) => alert.ruleId))].sort(),
      RULES.map((rule) => rule.meta.id).sort(),
      'every rule fires on the stream',
    );
  });

  void test('serve: the embedded pipeline (one partition) raises the same ids', async () => {
    const out = path.join(dir, 'serve.jsonl');
    const config = parityConfig([{ type: 'file', path: out }]);
    const serve = await startServe({
      host: '127.0.0.1',
      port: 0,
      dashboardPort: false,
      config,
      logger: pino({ level: 'silent' }),
    });
    try {
      await produceEvents(serve.transport, TOPICS.events, stream);
      // Each event counts once per scope with a rule that wants it.
      const scopes = [...rulesByScope(config.rules).values()];
      const expected = stream.reduce(
        (sum, event) => sum + scopes.filter((rules) => anyRuleWants(rules, event)).length,
        0,
      );
      await waitFor(
        `serve to process ${expected} engine events`,
        async () => ((await serve.detectors.metrics.events.get()).values[0]?.value ?? 0) >= expected,
      );
    } finally {
      await serve.close();
    }
    assert.deepEqual(idsOf(await readAlertsFile(out)), replayed);
  });

  void test('Kafka: 12 partitions, 3 instances, one SIGKILLed mid-stream: the same ids', async () => {
    transport = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'detectors-parity-test' });
    const kafka = new Kafka({
      brokers: kafkaBrokers(),
      clientId: 'detectors-parity-admin',
      logLevel: logLevel.NOTHING,
    });
    admin = kafka.admin();
    await admin.connect();
    const setup: WorkerSetup = {
      brokers: kafkaBrokers(),
      topics: {
        events: uniqueTopic('parity.events'),
        detectorState: uniqueTopic('parity.state'),
        eventsDeadLetter: uniqueTopic('parity.dlq'),
        alerts: uniqueTopic('parity.alerts'),
      },
      groupId: uniqueTopic('parity.group'),
      alertsFile: path.join(dir, 'kafka.jsonl'),
      catalog: 'fixtures',
      engine: ENGINE,
    };
    await transport.ensureTopics([
      { topic: setup.topics.events, partitions: PARTITIONS },
      { topic: setup.topics.alerts, partitions: 1 },
    ]);
    const assigned = (line: { msg: string }): boolean => line.msg === 'Partitions assigned; state restored.';
    // One at a time: the first creates the state and repartition topics.
    for (let index = 0; index < 3; index += 1) {
      const worker = new DetectorsWorker(setup);
      workers.push(worker);
      await worker.waitForLine(assigned, 60_000);
    }
    const inputTopics = [
      setup.topics.events,
      ...[...rulesByScope(parityConfig([{ type: 'stdout' }]).rules).keys()].map((scope) =>
        repartitionTopicOf(`${setup.topics.events}.repartition`, scope),
      ),
    ];

    /** Until the group has committed every record of the events and repartition topics (in that order). */
    const settled = async (): Promise<void> => {
      await waitFor(
        'the group to commit every partition of the events and repartition topics',
        async () => {
          for (const topic of inputTopics) {
            const [ends, committed] = await Promise.all([
              admin!.fetchTopicOffsets(topic),
              admin!.fetchOffsets({ groupId: setup.groupId, topics: [topic] }),
            ]);
            const done = new Map(committed[0]!.partitions.map((p) => [p.partition, BigInt(p.offset)]));
            // A partition never committed reads -1; an empty one needs no commit.
            if (ends.some((end) => BigInt(end.high) > 0n && (done.get(end.partition) ?? -1n) < BigInt(end.high)))
              return false;
          }
          return true;
        },
        60_000,
        25,
      );
    };

    // Free-running: half the stream at once, the first instance killed as soon as it committed a batch of it,
    // then the rest. Its engines' state and held events are restored by the instances that take its partitions.
    const half = Math.floor(stream.length / 2);
    await produceEvents(transport, setup.topics.events, stream.slice(0, half));
    await workers[0]!.waitForLine((line) => line.msg === 'Batch committed.', 60_000);
    await workers[0]!.kill();
    await produceEvents(transport, setup.topics.events, stream.slice(half));
    await settled();
    // Held events run once their engines idle: wait (bounded) until as many ids arrived as replay raised; a
    // shortfall fails below, naming what is missing.
    await waitForAlerts(transport, setup.topics.alerts, replayed.length, 120_000).catch(() => undefined);
    const alerts = await readAlertsTopic(transport, setup.topics.alerts);
    assert.ok(
      workers[1]!.lines.some((line) => line.msg === 'Partitions revoked.') ||
        workers[2]!.lines.some((line) => line.msg === 'Partitions revoked.'),
      'the survivors took over the killed instance’s partitions',
    );
    assert.deepEqual(idsOf(alerts), replayed);
  });
});
