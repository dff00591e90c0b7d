import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { z } from 'zod';
import { partitionKeyOf, type McpEvent } from '../contracts/mcp-event.ts';
import { isMcpwatchError, McpwatchError } from '../contracts/errors.ts';
import { callEvent, testRules } from '../test/detectors-test-rule.ts';
import { readAlertsFile } from '../test/detectors-support.ts';
import { EmbeddedTransport } from '../transport/embedded.ts';
import { HEADERS, TOPICS } from '../transport/topics.ts';
import type { IncomingRecord, Transport } from '../transport/types.ts';
import { parseDetectorsConfig, type SinkConfig } from './config.ts';
import { alertIdOf } from './engine.ts';
import { startDetectors, type DetectorsRuntime } from './runtime.ts';
import { createSinks } from './sinks/index.ts';
import type { AlertSink } from './sinks/types.ts';
import type { Rule } from './types.ts';
import { waitFor } from '../test/support/wait-for.ts';

const idOf = (session: string): string => alertIdOf('test-session-two-principals', 1, session);

async function send(transport: Transport, values: (McpEvent | string)[]): Promise<void> {
  const producer = await transport.producer();
  await producer.send(
    TOPICS.events,
    values.map((value) =>
      typeof value === 'string' ? { key: 'junk', value } : { key: partitionKeyOf(value), value: JSON.stringify(value) },
    ),
  );
  await producer.close();
}

async function start(transport: Transport, sinks: SinkConfig[], port?: number): Promise<DetectorsRuntime> {
  const config = parseDetectorsConfig(
    { sinks, engine: { allowedLatenessMs: 0 }, ops: port === undefined ? {} : { port } },
    testRules,
  );
  return startDetectors({
    transport,
    config,
    sinks: createSinks(config.sinks, { transport }),
    eventPartitions: 4,
    deliveryAttempts: 2,
    deliveryBackoffMs: 1,
    logger: pino({ level: 'silent' }),
  });
}

/** `transport` as it is, except that its consumers' commits are acknowledged and dropped. */
function forgettingCommits(transport: Transport): Transport {
  return {
    kind: transport.kind,
    ensureTopics: (topics) => transport.ensureTopics(topics),
    producer: () => transport.producer(),
    readPartition: (topic, partition) => transport.readPartition(topic, partition),
    partitionCount: (topic) => transport.partitionCount(topic),
    close: () => transport.close(),
    consumer: async (options) => {
      const consumer = await transport.consumer(options);
      return {
        run: (handlers) => consumer.run(handlers),
        commit: () => Promise.resolve(),
        pause: (partitions) => consumer.pause(partitions),
        resume: (partitions) => consumer.resume(partitions),
        close: () => consumer.close(),
      };
    },
  };
}

void describe('detectors runtime on the embedded transport', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(path.join(tmpdir(), 'mcpwatch-runtime-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  void test('dead-letters bad records, alerts, and serves health, readiness and metrics', async () => {
    const transport = new EmbeddedTransport();
    const file = path.join(dir, 'ops.jsonl');
    const runtime = await start(
      transport,
      [
        { type: 'file', path: file },
        { type: 'kafka', topic: TOPICS.alerts },
      ],
      0,
    );
    try {
      await send(transport, [
        callEvent('e1', 0, 's1', 'alice'),
        '{not json',
        JSON.stringify({ ...callEvent('e9', 0, 's9', 'x'), time: 'yesterday' }),
        callEvent('e2', 1, 's1', 'bob'),
      ]);
      await waitFor('the alert', async () => (await readAlertsFile(file)).length === 1);
      assert.deepEqual(
        (await readAlertsFile(file)).map((alert) => alert.alertId),
        [idOf('s1')],
      );
      const alertRecords = [];
      for (let p = 0; p < (await transport.partitionCount(TOPICS.alerts)); p += 1)
        for await (const record of transport.readPartition(TOPICS.alerts, p)) alertRecords.push(record);
      assert.deepEqual(
        alertRecords.map((record) => record.key),
        [idOf('s1')],
      );

      const deadLetters: IncomingRecord[] = [];
      await waitFor('two dead letters', async () => {
        deadLetters.length = 0;
        for await (const record of transport.readPartition(TOPICS.eventsDeadLetter, 0)) deadLetters.push(record);
        return deadLetters.length === 2;
      });
      assert.match(deadLetters[0]!.headers[HEADERS.deadLetterReason]!, /^\(root\): not JSON/);
      assert.match(deadLetters[1]!.headers[HEADERS.deadLetterReason]!, /^time: /);
      assert.equal(deadLetters[1]!.headers[HEADERS.deadLetterStage], 'detectors');
      assert.match(deadLetters[1]!.headers[HEADERS.deadLetterSource]!, /^mcp\.events\.v1\/\d+\/\d+$/);

      const base = runtime.opsAddress!;
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      assert.equal((await fetch(`${base}/readyz`)).status, 200);
      let metrics = '';
      await waitFor('the metrics of both batches', async () => {
        metrics = await (await fetch(`${base}/metrics`)).text();
        return /^mcpwatch_detector_events_total 2$/m.test(metrics);
      });
      assert.match(metrics, /^mcpwatch_detector_events_total 2$/m);
      assert.match(metrics, /^mcpwatch_detector_dead_letters_total 2$/m);
      assert.match(metrics, /^mcpwatch_detector_alerts_total\{rule="test-session-two-principals"\} 1$/m);
      assert.match(metrics, /^mcpwatch_detector_state_keys\{rule="test-session-two-principals"\} 1$/m);
      assert.match(metrics, /^mcpwatch_detector_consumer_lag_seconds\{partition="\d"\} /m);
      assert.equal((await fetch(`${base}/nope`)).status, 404);
    } finally {
      await runtime.close();
      await transport.close();
    }
  });

  void test('restarted on the same log, it restores state and skips what the checkpoint holds', async () => {
    const transport = new EmbeddedTransport();
    const file = path.join(dir, 'restart.jsonl');
    const first = await start(transport, [{ type: 'file', path: file }]);
    await send(transport, [callEvent('e1', 0, 's1', 'alice'), callEvent('e2', 1, 's2', 'alice')]);
    await waitFor('two events', () => first.metrics.events.get().then((metric) => metric.values[0]?.value === 2));
    await first.close();

    const second = await start(transport, [{ type: 'file', path: file }]);
    try {
      await send(transport, [callEvent('e3', 2, 's1', 'bob')]);
      await waitFor('the alert after restart', () =>
        second.metrics.alerts.get().then((metric) => metric.values[0]?.value === 1),
      );
      assert.equal((await readAlertsFile(file)).length, 1);
      assert.equal((await second.metrics.events.get()).values[0]?.value, 1, 'only the new event ran');
    } finally {
      await second.close();
      await transport.close();
    }
  });

  void test('an instance that joins restores only the state partitions of the partitions it is given', async () => {
    const transport = new EmbeddedTransport();
    const file = path.join(dir, 'owned.jsonl');
    const sessions = ['s1', 's2', 's3', 's4', 's5', 's6', 's7', 's8'];
    const first = await start(transport, [{ type: 'file', path: file }]);
    const stateReads: number[] = [];
    try {
      await send(
        transport,
        sessions.map((session, index) => callEvent(`a-${session}`, index, session, 'alice')),
      );
      await waitFor('the first principal of every session', () =>
        first.metrics.events.get().then((metric) => metric.values[0]?.value === sessions.length),
      );
      // The same transport, but every read of a state partition is recorded.
      const recording = new Proxy(transport, {
        get(target, property) {
          if (property === 'readPartition')
            return (topic: string, partition: number) => {
              if (topic === TOPICS.detectorState) stateReads.push(partition);
              return target.readPartition(topic, partition);
            };
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });
      const second = await start(recording, [{ type: 'file', path: file }]);
      try {
        const owned = await waitFor('the second instance assigned', () => {
          const partitions = second.assignedPartitions();
          return partitions.length === 2 && partitions;
        });
        assert.deepEqual([...new Set(stateReads)].sort(), owned, 'read its own state partitions, no other');
        await send(
          transport,
          sessions.map((session, index) => callEvent(`b-${session}`, 10 + index, session, 'bob')),
        );
        await waitFor('an alert per session', async () => (await readAlertsFile(file)).length === sessions.length);
        assert.ok((await second.metrics.alerts.get()).values.length > 0, 'the restored state made it alert');
      } finally {
        await second.close();
      }
    } finally {
      await first.close();
      await transport.close();
    }
  });

  // A server-scope rule that reports a server 10 s after its first call: on 4 partitions its engines hold events.
  const quietServer: Rule<null, Record<string, never>> = {
    meta: { ...testRules[0]!.meta, id: 'test-quiet-server' },
    configSchema: z.strictObject({}),
    scope: 'server',
    keyOf: (event) => event.server.name,
    initialState: () => null,
    onEvent: (state, _event, { eventTime }) => ({ state, timers: [{ name: 'quiet', at: eventTime + 10_000 }] }),
    onTimer: (_state, timer) => ({
      state: undefined,
      findings: [
        { subject: timer.key, title: 'quiet', description: 'quiet', entities: {}, evidence: {}, eventIds: [] },
      ],
    }),
  };

  /** The quiet-server rule on 4 partitions, holding events for 60 s of event time, alerts to `fileName`. */
  async function startQuietServer(
    fileName: string,
    idlePartitionMs: number,
    wrap: (sink: AlertSink) => AlertSink = (sink) => sink,
  ) {
    const transport = new EmbeddedTransport();
    const file = path.join(dir, fileName);
    const config = parseDetectorsConfig(
      { sinks: [{ type: 'file', path: file }], engine: { allowedLatenessMs: 60_000, idlePartitionMs } },
      [quietServer],
    );
    const runtime = await startDetectors({
      transport,
      config,
      sinks: createSinks(config.sinks, { transport }).map(wrap),
      eventPartitions: 4,
      logger: pino({ level: 'silent' }),
    });
    return { transport, file, runtime };
  }

  /**
   * Server `files` is on server partition 3, `other` on 0: after a call to `files` at 0 s and one to `other` at
   * 600 s, no event ever reaches `files` again; only idle engines moving on fire its timer. The alert ids written.
   */
  async function idleAlertIds(transport: Transport, file: string): Promise<string[]> {
    await send(transport, [
      callEvent('e1', 0, 'a', 'alice'),
      { ...callEvent('e2', 600, 'b', 'bob'), server: { name: 'other' } },
    ]);
    const alerts = await waitFor('the timer of the idle engine', async () => {
      const found = await readAlertsFile(file);
      return found.length > 0 && found;
    });
    return alerts.map((alert) => alert.alertId);
  }

  void test('an idle engine runs what it holds and fires its timers without waiting for traffic', async () => {
    const { transport, file, runtime } = await startQuietServer('idle.jsonl', 200);
    try {
      assert.deepEqual(
        await idleAlertIds(transport, file),
        [alertIdOf('test-quiet-server', 1, 'files')],
        'files fired once idle engines moved to 600 s; other, due at 610 s, did not',
      );
      assert.ok((await runtime.metrics.idleAdvances.get()).values[0]!.value >= 1);
    } finally {
      await runtime.close();
      await transport.close();
    }
  });

  void test('alerts of an idle advance whose delivery failed go out with the next tick', async () => {
    let refused = 0;
    const refuseFirst = (sink: AlertSink): AlertSink => ({
      name: sink.name,
      health: () => sink.health(),
      close: () => sink.close(),
      deliver: async (alerts) => {
        if (alerts.length > 0 && refused === 0) {
          refused += 1;
          throw new McpwatchError('DELIVERY_FAILED', 'refused once');
        }
        await sink.deliver(alerts);
      },
    });
    const { transport, file, runtime } = await startQuietServer('idle-refused.jsonl', 200, refuseFirst);
    try {
      assert.deepEqual(await idleAlertIds(transport, file), [alertIdOf('test-quiet-server', 1, 'files')]);
      assert.equal(refused, 1, 'the first delivery was refused');
    } finally {
      await runtime.close();
      await transport.close();
    }
  });

  void test('what engines hold for event-time order shows in the held-events gauge until it runs', async () => {
    const { transport, runtime } = await startQuietServer('held.jsonl', 60_000);
    const held = async () =>
      /^mcpwatch_detector_held_events\{scope="server"\} (\d+)$/m.exec(await runtime.metrics.registry.metrics())?.[1];
    try {
      await send(transport, [callEvent('e1', 0, 'a', 'alice'), callEvent('e2', 1, 'a', 'alice')]);
      await waitFor('both calls held', async () => (await held()) === '2');
      // 61 s later in event time: the first two are past the allowed lateness and run; this one is held.
      await send(transport, [callEvent('e3', 61, 'a', 'alice')]);
      await waitFor('only the latest call held', async () => (await held()) === '1');
    } finally {
      await runtime.close();
      await transport.close();
    }
  });

  void test('read again batch by batch from before its restored position, it skips every record the state holds', async () => {
    // One record per batch, and commits that never land: the next owner reads both records again, one batch each.
    const transport = new EmbeddedTransport({ maxBatchRecords: 1 });
    const file = path.join(dir, 'uncommitted.jsonl');
    const config = parseDetectorsConfig({ engine: { allowedLatenessMs: 0 } }, testRules);
    const options = { config, eventPartitions: 1, logger: pino({ level: 'silent' }) };
    try {
      const first = await startDetectors({
        ...options,
        transport: forgettingCommits(transport),
        sinks: createSinks([{ type: 'file', path: file }], { transport }),
      });
      await send(transport, [callEvent('e1', 0, 's1', 'alice'), callEvent('e2', 1, 's1', 'bob')]);
      await waitFor('the alert', () => first.metrics.alerts.get().then((metric) => metric.values[0]?.value === 1));
      await first.close();

      const second = await startDetectors({
        ...options,
        transport,
        sinks: createSinks([{ type: 'file', path: file }], { transport }),
      });
      await waitFor('both records read again', async () => {
        const batches = (await second.metrics.batchSeconds.get()).values.find((value) =>
          value.metricName?.endsWith('_count'),
        );
        return (batches?.value ?? 0) >= 2;
      });
      await second.close();
      assert.equal((await second.metrics.replayedEventsSkipped.get()).values[0]?.value, 2, 'both skipped');
      assert.equal((await second.metrics.events.get()).values[0]?.value ?? 0, 0, 'no event ran twice');
      assert.deepEqual(
        (await readAlertsFile(file)).map((alert) => alert.alertId),
        [idOf('s1')],
      );
    } finally {
      await transport.close();
    }
  });

  void test('a sink that does not confirm stops the consumer and leaves the offsets for the next owner', async () => {
    const refusing = createServer((_request, response) => response.writeHead(503).end());
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(refusing.address() as AddressInfo).port}/`;
    const transport = new EmbeddedTransport();
    const file = path.join(dir, 'refused.jsonl');
    try {
      const failing = await start(transport, [
        { type: 'file', path: file },
        { type: 'webhook', url, headers: {}, timeoutMs: 1000 },
      ]);
      await send(transport, [callEvent('e1', 0, 's1', 'alice'), callEvent('e2', 1, 's1', 'bob')]);
      await assert.rejects(failing.done, (error) => isMcpwatchError(error, 'DELIVERY_FAILED'));
      await failing.close();

      const healthy = await start(transport, [{ type: 'file', path: file }]);
      await waitFor('the alert from the next owner', () =>
        healthy.metrics.alerts.get().then((metric) => metric.values[0]?.value === 1),
      );
      await healthy.close();
      // The file sink confirmed before the webhook failed, so it saw the alert twice: same id both times.
      assert.deepEqual(
        (await readAlertsFile(file)).map((alert) => alert.alertId),
        [idOf('s1'), idOf('s1')],
      );
    } finally {
      refusing.close();
      await transport.close();
    }
  });
});
