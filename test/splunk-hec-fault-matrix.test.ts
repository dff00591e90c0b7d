/**
 * The Splunk HEC delivery guarantee under every fault the collector can answer with, and under a crash of the
 * sender mid-flush: the events indexed at the (stand-in) collector are a superset of the alerts whose `deliver`
 * resolved, and a repeat is always the same event with the same alert id. Deliveries are retried the way the
 * runtime retries them, with the one retry policy; the sink itself never retries.
 *
 * The file is also the crashing sender: run with MCPWATCH_HEC_SINK_CHILD set, it delivers alerts and reports each
 * acknowledged batch on stdout until it is killed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { pino } from 'pino';
import { fileURLToPath } from 'node:url';
import type { Alert } from '../contracts/alert.ts';
import { isMcpwatchError } from '../contracts/errors.ts';
import { partitionKeyOf } from '../contracts/mcp-event.ts';
import { parseDetectorsConfig } from '../detectors/config.ts';
import { alertIdOf } from '../detectors/engine.ts';
import { startDetectors } from '../detectors/runtime.ts';
import { RULES } from '../detectors/rules/index.ts';
import { createSinks } from '../detectors/sinks/index.ts';
import { alertFixture } from './support/azure-monitor-fixtures.ts';
import type { SplunkHecSinkConfig } from '../detectors/sinks/splunk-hec-config.ts';
import { SplunkHecSink } from '../detectors/sinks/splunk-hec.ts';
import { EmbeddedTransport } from '../transport/embedded.ts';
import { retryPolicy } from '../transport/retry.ts';
import { TOPICS } from '../transport/topics.ts';
import { callEvent, testRules } from './detectors-test-rule.ts';
import { loadOcsfSchema } from './support/ocsf-schema.ts';
import {
  HEC_STAND_IN_TOKEN,
  startSplunkHecStandIn,
  type HecEvent,
  type HecFault,
  type HecStandInOptions,
  type SplunkHecStandIn,
} from './support/splunk-hec-stand-in.ts';
import { waitFor } from './support/wait-for.ts';

const CHILD_ENV = 'MCPWATCH_HEC_SINK_CHILD';

interface ChildPlan {
  config: SplunkHecSinkConfig;
  batches: number;
  batchSize: number;
}

function sinkConfig(standIn: SplunkHecStandIn, directory: string): SplunkHecSinkConfig {
  return {
    type: 'splunk-hec',
    url: standIn.url,
    token: HEC_STAND_IN_TOKEN,
    caFile: join(directory, 'ca.pem'),
    index: 'mcpwatch',
    requestTimeoutMs: 2_000,
    ackTimeoutMs: 1_500,
    ackPollMs: 20,
  };
}

/** As the runtime retries a delivery: the whole batch again, backing off, only while the failure is retriable. */
const runtimeRetry = () => retryPolicy({ attempts: 20, baseDelayMs: 5, maxDelayMs: 40 });

/** Indexed ⊇ acknowledged, and every indexed event is exactly the event of an emitted alert (repeats identical). */
function assertDelivered(indexed: readonly HecEvent[], emitted: readonly Alert[], acknowledged: readonly Alert[]) {
  const expected = new Map(emitted.map((alert) => [alert.alertId, alert]));
  for (const event of indexed) {
    const alert = event.event as Alert;
    assert.ok(expected.has(alert.alertId), `indexed an alert never emitted: ${alert.alertId}`);
    assert.deepEqual(alert, expected.get(alert.alertId), `repeat of ${alert.alertId} differs`);
    assert.equal(event.time, Date.parse(alert.time) / 1000);
    assert.equal(event.index, 'mcpwatch');
    assert.equal(event.sourcetype, 'mcpwatch:alert');
  }
  const indexedIds = new Set(indexed.map((event) => (event.event as Alert).alertId));
  for (const alert of acknowledged) assert.ok(indexedIds.has(alert.alertId), `alert ${alert.alertId} lost`);
}

async function inScratch(
  body: (standIn: SplunkHecStandIn, directory: string) => Promise<void>,
  options: HecStandInOptions = {},
) {
  const standIn = await startSplunkHecStandIn({ ...options, tls: true });
  const directory = await mkdtemp(join(tmpdir(), 'mcpwatch-hec-fault-matrix-'));
  await writeFile(join(directory, 'ca.pem'), standIn.caPem!);
  try {
    await body(standIn, directory);
  } finally {
    await standIn.close();
    await rm(directory, { recursive: true, force: true });
  }
}

interface FaultCase {
  name: string;
  faults: HecFault[];
  standIn?: HecStandInOptions;
  /** How one `deliver` meeting the first fault fails. */
  first: { retriable: boolean; retryAfterMs?: number } | 'succeeds';
}

const cases: FaultCase[] = [
  {
    name: '429 with Retry-After',
    faults: [
      { kind: 'status', status: 429, retryAfterSeconds: 0 },
      { kind: 'status', status: 429 },
    ],
    first: { retriable: true, retryAfterMs: 0 },
  },
  {
    name: '500 and 502',
    faults: [
      { kind: 'status', status: 500 },
      { kind: 'status', status: 502 },
    ],
    first: { retriable: true },
  },
  {
    name: '503 (server busy) with Retry-After',
    faults: [{ kind: 'status', status: 503, retryAfterSeconds: 1 }],
    first: { retriable: true, retryAfterMs: 1000 },
  },
  { name: '408 (from a proxy in front)', faults: [{ kind: 'status', status: 408 }], first: { retriable: true } },
  { name: 'connection reset', faults: [{ kind: 'reset' }, { kind: 'reset' }], first: { retriable: true } },
  {
    name: 'lost answer (indexed, never answered)',
    faults: [{ kind: 'index-then-hang' }],
    first: { retriable: true },
  },
  {
    name: 'events lost before indexing (ack never true)',
    faults: [{ kind: 'lose-before-index' }],
    first: { retriable: true },
  },
  { name: 'slow indexing (ack false for a while)', faults: [{ kind: 'slow-index', ms: 150 }], first: 'succeeds' },
  { name: '403 (invalid token)', faults: [{ kind: 'status', status: 403 }], first: { retriable: false } },
  { name: '401', faults: [{ kind: 'status', status: 401 }], first: { retriable: false } },
  { name: '400 (invalid data format)', faults: [{ kind: 'status', status: 400 }], first: { retriable: false } },
  { name: '404 (wrong URL)', faults: [{ kind: 'status', status: 404 }], first: { retriable: false } },
  // Ten alerts of ~0.9 KiB do not fit in 4,000 bytes: each request is halved until its parts do.
  {
    name: '413 (max_content_length below maxBatchBytes)',
    faults: [],
    standIn: { maxContentLength: 4_000 },
    first: 'succeeds',
  },
];

function registerTests(): void {
  for (const faultCase of cases) {
    void test(`HEC fault matrix: ${faultCase.name} — indexed ⊇ acknowledged, repeats share the alert id`, async () => {
      await inScratch(async (standIn, directory) => {
        const alerts = Array.from({ length: 30 }, (_, index) => alertFixture(index, faultCase.name, 150));
        const sink = new SplunkHecSink(sinkConfig(standIn, directory));
        const acknowledged: Alert[] = [];
        try {
          // The first attempt alone shows how the sink classifies the fault.
          standIn.script(...faultCase.faults);
          const first = alerts.slice(0, 10);
          const outcome = await sink.deliver(first).then(
            () => 'succeeds' as const,
            (error: unknown) => error,
          );
          if (faultCase.first === 'succeeds') {
            assert.equal(outcome, 'succeeds');
            acknowledged.push(...first);
          } else {
            assert.ok(isMcpwatchError(outcome, 'DELIVERY_FAILED'), String(outcome));
            const error = outcome;
            assert.equal(error.retriable, faultCase.first.retriable, error.message);
            assert.equal(error.retryAfterMs, faultCase.first.retryAfterMs);
            assert.ok(!error.message.includes(HEC_STAND_IN_TOKEN), 'the token never appears in an error');
            assert.equal((await sink.health()).healthy, false);
          }
          // Then the runtime's way: each batch retried whole until acknowledged. A refusal that is not
          // retriable stops the runtime; the operator fixes the token or the data and it starts over from the
          // uncommitted batch, which here is the same call again.
          for (let start = acknowledged.length; start < alerts.length; start += 10) {
            const batch = alerts.slice(start, start + 10);
            await runtimeRetry().execute(() => sink.deliver(batch));
            acknowledged.push(...batch);
          }
          assertDelivered(standIn.events(), alerts, acknowledged);
          assert.equal(acknowledged.length, alerts.length);
          assert.deepEqual(await sink.health(), { healthy: true });
          assert.ok(standIn.requests.filter((request) => request.events > 0).every((request) => request.gzip));
          if (faultCase.standIn?.maxContentLength !== undefined) {
            assert.ok(sink.stats().splits > 0, 'requests were split');
            assert.ok(standIn.requests.some((request) => request.status === 413));
          }
        } finally {
          await sink.close();
        }
      }, faultCase.standIn);
    });
  }

  void test('HEC fault matrix: sender killed (SIGKILL) mid-flush, restarted from the last acknowledged batch — nothing lost', async () => {
    await inScratch(async (standIn, directory) => {
      // The third request is indexed and never answered: the child dies between Splunk's write and its ack.
      standIn.script({ kind: 'pass' }, { kind: 'pass' }, { kind: 'index-then-hang' });
      const plan: ChildPlan = {
        config: { ...sinkConfig(standIn, directory), requestTimeoutMs: 60_000 },
        batches: 5,
        batchSize: 10,
      };
      const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
        env: { ...process.env, [CHILD_ENV]: JSON.stringify(plan) },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        child.once('exit', (_code, signal) => resolve(signal)),
      );
      const acknowledgedIds: string[] = [];
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (line.startsWith('acknowledged ')) acknowledgedIds.push(...line.slice('acknowledged '.length).split(','));
      });
      try {
        await waitFor('two batches acknowledged', () => acknowledgedIds.length === 20, 60_000);
        await waitFor('the in-flight request indexed', () => standIn.events().length === 30, 60_000);
      } finally {
        child.kill('SIGKILL');
      }
      assert.equal(await exited, 'SIGKILL');
      const alerts = Array.from({ length: 50 }, (_, index) => alertFixture(index, 'crash'));
      assert.deepEqual(
        acknowledgedIds,
        alerts.slice(0, 20).map((alert) => alert.alertId),
      );
      // Every alert acknowledged before the kill was indexed before it.
      assertDelivered(standIn.events(), alerts, alerts.slice(0, 20));

      // The next owner of the partition resumes after the last committed (= acknowledged) batch.
      const sink = new SplunkHecSink(plan.config);
      try {
        for (let start = acknowledgedIds.length; start < alerts.length; start += plan.batchSize) {
          await runtimeRetry().execute(() => sink.deliver(alerts.slice(start, start + plan.batchSize)));
        }
      } finally {
        await sink.close();
      }
      const indexed = standIn.events();
      assertDelivered(indexed, alerts, alerts);
      // The batch in flight at the kill went twice: the guarantee is at least once, with the same alert ids.
      assert.equal(indexed.length, 60);
      const twice = alerts.slice(20, 30).map((alert) => alert.alertId);
      for (const alertId of twice) {
        assert.equal(indexed.filter((event) => (event.event as Alert).alertId === alertId).length, 2);
      }
    });
  });

  void test('in the detectors runtime, offsets stay uncommitted until Splunk acknowledges the alert as indexed', async () => {
    await inScratch(async (standIn, directory) => {
      const transport = new EmbeddedTransport();
      const start = () => {
        const config = parseDetectorsConfig(
          {
            sinks: [{ ...sinkConfig(standIn, directory), ackTimeoutMs: 300 }],
            engine: { allowedLatenessMs: 0 },
          },
          testRules,
        );
        return startDetectors({
          transport,
          config,
          sinks: createSinks(config.sinks),
          eventPartitions: 1,
          deliveryAttempts: 2,
          deliveryBackoffMs: 1,
          logger: pino({ level: 'silent' }),
        });
      };
      try {
        // Both attempts are answered with an ack id that never turns true: the events were lost before indexing.
        standIn.script({ kind: 'lose-before-index' }, { kind: 'lose-before-index' });
        const unacknowledged = await start();
        const producer = await transport.producer();
        const events = [callEvent('e1', 0, 's1', 'alice'), callEvent('e2', 1, 's1', 'bob')];
        await producer.send(
          TOPICS.events,
          events.map((event) => ({ key: partitionKeyOf(event), value: JSON.stringify(event) })),
        );
        await producer.close();
        let stopped: unknown;
        unacknowledged.done.catch((error: unknown) => (stopped = error));
        // A sink that resolved before the acks would let this owner commit and run on: bounded, it fails here.
        await waitFor('the first owner stopped by the unacknowledged delivery', () => stopped !== undefined, 30_000);
        assert.ok(isMcpwatchError(stopped, 'DELIVERY_FAILED'), String(stopped));
        await unacknowledged.close();
        assert.equal(standIn.events().length, 0);

        // The next owner reads the same uncommitted batch and delivers its alert once Splunk acknowledges it.
        const next = await start();
        await waitFor('the alert indexed', () => standIn.events().length === 1, 30_000);
        await waitFor('the alert counted as delivered', () =>
          next.metrics.alerts.get().then((metric) => metric.values[0]?.value === 1),
        );
        await next.close();
        const [indexed] = standIn.events();
        assert.equal((indexed!.event as Alert).alertId, alertIdOf('test-session-two-principals', 1, 's1'));
      } finally {
        await transport.close();
      }
    });
  });

  void test('HEC stand-in: speaks the wire protocol (auth, channel, concatenated events, acks read once, tokens without ack)', async () => {
    const standIn = await startSplunkHecStandIn();
    try {
      const channel = '11111111-2222-4333-8444-555555555555';
      const post = async (path: string, body: string, headers: Record<string, string>) => {
        const response = await fetch(standIn.url + path, { method: 'POST', body, headers });
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
      };
      const auth = { authorization: `Splunk ${HEC_STAND_IN_TOKEN}` };
      const events = '{"event":{"a":1},"time":1.5}{"event":"two"}\n{"event":{"b":"}{"}}';
      assert.deepEqual(await post('/services/collector/event', events, {}), {
        status: 401,
        body: { text: 'Token is required', code: 2 },
      });
      assert.equal((await post('/services/collector/event', events, auth)).body.code, 10);
      const withChannel = { ...auth, 'x-splunk-request-channel': channel };
      assert.equal(
        (await post('/services/collector/event', events, { ...withChannel, authorization: 'Splunk wrong' })).status,
        403,
      );
      assert.equal((await post('/services/collector/event', '{"time":1}', withChannel)).body.code, 12);
      assert.equal((await post('/services/collector/event', '{"event":""}', withChannel)).body.code, 13);
      assert.deepEqual(await post('/services/collector/event', events, withChannel), {
        status: 200,
        body: { text: 'Success', code: 0, ackId: 0 },
      });
      assert.equal(standIn.events().length, 3);
      assert.deepEqual((await post('/services/collector/ack', '{"acks":[0,7]}', withChannel)).body, {
        acks: { '0': true, '7': false },
      });
      assert.deepEqual((await post('/services/collector/ack', '{"acks":[0]}', withChannel)).body, {
        acks: { '0': false },
      });
    } finally {
      await standIn.close();
    }
    // A token without indexer acknowledgement: no channel needed, no ackId, the ack endpoint refuses.
    const noAck = await startSplunkHecStandIn({ ack: false });
    try {
      const post = async (path: string, body: string) => {
        const response = await fetch(noAck.url + path, {
          method: 'POST',
          body,
          headers: { authorization: `Splunk ${HEC_STAND_IN_TOKEN}` },
        });
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
      };
      assert.deepEqual(await post('/services/collector/event', '{"event":"one"}'), {
        status: 200,
        body: { text: 'Success', code: 0 },
      });
      assert.deepEqual(await post('/services/collector/ack', '{"acks":[0]}'), {
        status: 400,
        body: { text: 'ACK is disabled', code: 14 },
      });
    } finally {
      await noAck.close();
    }
  });

  void test('a splunk-hec sink from the detectors configuration, format ocsf, token from the environment', async () => {
    await inScratch(async (standIn, directory) => {
      const config = parseDetectorsConfig(
        {
          sinks: [
            { type: 'splunk-hec', url: standIn.url, caFile: join(directory, 'ca.pem'), format: 'ocsf', ackPollMs: 10 },
          ],
        },
        RULES,
      );
      const [sink] = createSinks(config.sinks, { env: { MCPWATCH_SPLUNK_HEC_TOKEN: HEC_STAND_IN_TOKEN } });
      assert.equal(sink!.name, 'splunk-hec');
      const alerts = [alertFixture(1, 'ocsf'), alertFixture(2, 'ocsf')];
      await sink!.deliver(alerts);
      await sink!.close();
      const schema = loadOcsfSchema();
      const indexed = standIn.events();
      assert.deepEqual(
        indexed.map((event) => (event.event as { finding_info: { uid: string } }).finding_info.uid),
        alerts.map((alert) => alert.alertId),
      );
      for (const event of indexed) {
        assert.equal(event.sourcetype, 'mcpwatch:ocsf');
        assert.deepEqual(schema.validate(event.event), []);
      }
    });
  });

  void test('HEC sink: a token without indexer acknowledgement, or one event over max_content_length, fails for good', async () => {
    await inScratch(
      async (standIn, directory) => {
        const sink = new SplunkHecSink(sinkConfig(standIn, directory));
        try {
          const outcome = await sink.deliver([alertFixture(1, 'no-ack')]).then(
            () => 'succeeds',
            (error: unknown) => error,
          );
          assert.ok(isMcpwatchError(outcome, 'DELIVERY_FAILED'), String(outcome));
          assert.equal(outcome.retriable, false);
          assert.match(outcome.message, /without an ackId: enable indexer acknowledgement on the token/);
        } finally {
          await sink.close();
        }
        // Where Splunk offers no acknowledgement (Splunk Cloud), the sink can be told so: a 200 confirms.
        const unacknowledged = new SplunkHecSink({ ...sinkConfig(standIn, directory), acknowledgement: false });
        try {
          await unacknowledged.deliver([alertFixture(2, 'no-ack'), alertFixture(3, 'no-ack')]);
          assert.equal(unacknowledged.stats().ackQueries, 0);
        } finally {
          await unacknowledged.close();
        }
        assert.deepEqual(
          standIn.events().map((event) => (event.event as Alert).alertId),
          [1, 2, 3].map((index) => alertFixture(index, 'no-ack').alertId),
        );
      },
      { ack: false },
    );
    await inScratch(
      async (standIn, directory) => {
        const sink = new SplunkHecSink(sinkConfig(standIn, directory));
        try {
          const outcome = await sink.deliver([alertFixture(1, 'large', 2_000)]).then(
            () => 'succeeds',
            (error: unknown) => error,
          );
          assert.ok(isMcpwatchError(outcome, 'DELIVERY_FAILED'), String(outcome));
          assert.equal(outcome.retriable, false);
          assert.match(outcome.message, /refused an event larger than it accepts: HTTP 413/);
          assert.equal(standIn.events().length, 0);
        } finally {
          await sink.close();
        }
      },
      { maxContentLength: 1_000 },
    );
  });

  void test('HEC sink: no token, or a bad URL, fails at start naming the key', () => {
    assert.throws(
      () => new SplunkHecSink({ type: 'splunk-hec', url: 'http://127.0.0.1:8088' }, { env: {} }),
      /no token \(set MCPWATCH_SPLUNK_HEC_TOKEN/,
    );
    assert.throws(
      () => new SplunkHecSink({ type: 'splunk-hec', url: 'ftp://x', token: 't' }),
      /splunk-hec sink: url: expected an http/,
    );
  });
}

async function runChild(plan: ChildPlan): Promise<void> {
  const sink = new SplunkHecSink(plan.config);
  for (let batch = 0; batch < plan.batches; batch += 1) {
    const alerts = Array.from({ length: plan.batchSize }, (_, index) =>
      alertFixture(batch * plan.batchSize + index, 'crash'),
    );
    await runtimeRetry().execute(() => sink.deliver(alerts));
    process.stdout.write(`acknowledged ${alerts.map((alert) => alert.alertId).join(',')}\n`);
  }
  // Never outlive a parent that died first.
  setTimeout(() => process.exit(1), 60_000);
}

const childPlan = process.env[CHILD_ENV];
if (childPlan === undefined) registerTests();
else await runChild(JSON.parse(childPlan) as ChildPlan);
