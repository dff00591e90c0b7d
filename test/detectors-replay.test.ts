import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import type { Alert } from '../contracts/alert.ts';
import { parseDetectorsConfig } from '../detectors/config.ts';
import { replayFile } from '../detectors/replay.ts';
import { startDetectors } from '../detectors/runtime.ts';
import { FileSink } from '../detectors/sinks/file.ts';
import { KafkaTransport } from '../transport/kafka.ts';
import { callEvent, testRules } from './detectors-test-rule.ts';
import { produceEvents, readAlertsFile } from './detectors-support.ts';
import { kafkaBrokers, uniqueTopic } from './support/kafka.ts';
import { waitFor } from './support/wait-for.ts';

const byId = (a: Alert, b: Alert): number => a.alertId.localeCompare(b.alertId);

void test('replay of the recorded events raises the same alerts as the live detectors on Kafka', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'mcpwatch-replay-live-'));
  const transport = new KafkaTransport({
    brokers: kafkaBrokers(),
    clientId: 'detectors-replay-test',
    consumer: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, maxWaitTimeMs: 100 },
  });
  try {
    // 40 sessions, each used by 1–3 principals in a deterministic pattern: some alert, some do not.
    const principals = ['alice', 'bob', 'carol'];
    const events = Array.from({ length: 40 }, (_, session) =>
      Array.from({ length: 1 + (session % 3) }, (_, use) =>
        callEvent(`s${session}-${use}`, session + use * 50, `s${session}`, principals[(session + use) % 3]!),
      ),
    ).flat();
    const topics = {
      events: uniqueTopic('replay-live.events'),
      detectorState: uniqueTopic('replay-live.state'),
      eventsDeadLetter: uniqueTopic('replay-live.dlq'),
    };
    await transport.ensureTopics([{ topic: topics.events, partitions: 3 }]);
    const config = parseDetectorsConfig({ groupId: uniqueTopic('replay-live.group') }, testRules);
    const liveFile = path.join(dir, 'live.jsonl');
    const runtime = await startDetectors({
      transport,
      config,
      sinks: [new FileSink(liveFile)],
      topics,
      logger: pino({ level: 'silent' }),
    });
    await produceEvents(transport, topics.events, events);
    await waitFor(
      `the detectors to process ${events.length} events`,
      async () => (await runtime.metrics.events.get()).values[0]?.value === events.length,
    );
    await runtime.close();
    const live = (await readAlertsFile(liveFile)).sort(byId);
    assert.equal(live.length, 40 - Math.ceil(40 / 3), 'sessions with two or more principals alert once');

    const recording = path.join(dir, 'recording.jsonl');
    const shuffled = events.map((event, index) => ({ event, order: (index * 7919) % events.length }));
    shuffled.sort((a, b) => a.order - b.order);
    await writeFile(recording, shuffled.map(({ event }) => JSON.stringify(event)).join('\n') + '\n');
    const replayed = path.join(dir, 'replayed.jsonl');
    const sink = new FileSink(replayed);
    const report = await replayFile(recording, { config, sinks: [sink], progress: false });
    await sink.close();
    assert.equal(report.events, events.length);
    assert.deepEqual((await readAlertsFile(replayed)).sort(byId), live);
  } finally {
    await transport.close();
    await rm(dir, { recursive: true, force: true });
  }
});
