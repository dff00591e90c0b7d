import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { ALERTS_TABLE, EVENTS_TABLE, toRow } from '../../contracts/log-analytics.ts';
import { McpEvent } from '../../contracts/mcp-event.ts';
import {
  STAND_IN_TOKEN,
  startLogsIngestionStandIn,
  type LogsIngestionStandIn,
  type StandInOptions,
} from '../../test/support/logs-ingestion-stand-in.ts';
import { isMcpwatchError } from '../../contracts/errors.ts';
import type { AzureMonitorSinkConfig } from './azure-monitor-config.ts';
import { AzureMonitorSink, createAzureMonitorSink } from './azure-monitor.ts';
import { alertFixture, standInCredential } from '../../test/support/azure-monitor-fixtures.ts';
import { waitFor } from '../../test/support/wait-for.ts';

interface Harness {
  standIn: LogsIngestionStandIn;
  sink: AzureMonitorSink;
  directory: string;
}

async function withSink(
  options: { standIn?: StandInOptions; sink?: Partial<AzureMonitorSinkConfig> },
  body: (harness: Harness) => Promise<void>,
): Promise<void> {
  const standIn = await startLogsIngestionStandIn({ token: STAND_IN_TOKEN, ...options.standIn });
  const directory = await mkdtemp(join(tmpdir(), 'mcpwatch-azure-sink-'));
  await writeFile(join(directory, 'ca.pem'), standIn.caPem);
  const sink = await AzureMonitorSink.open(
    {
      type: 'azure-monitor',
      endpoint: standIn.endpoint,
      dcrImmutableId: standIn.dcrImmutableId,
      caFile: join(directory, 'ca.pem'),
      spool: { directory: join(directory, 'spool') },
      retry: { baseDelayMs: 5, maxDelayMs: 50 },
      ...options.sink,
    },
    { credential: standInCredential, logger: pino({ level: 'silent' }) },
  );
  try {
    await body({ standIn, sink, directory });
  } finally {
    await sink.close();
    await standIn.close();
    await rm(directory, { recursive: true, force: true });
  }
}

void test('delivers alerts as rows of the alerts table through the real SDK, gzipped, in one request', async () => {
  await withSink({}, async ({ standIn, sink }) => {
    const alerts = Array.from({ length: 50 }, (_, index) => alertFixture(index));
    await sink.deliver(alerts);
    await sink.whenIdle();
    assert.deepEqual(
      standIn.rows(ALERTS_TABLE.name),
      alerts.map((alert) => toRow(ALERTS_TABLE, alert)),
    );
    assert.deepEqual(
      standIn.requests.map(({ status, rows, gzip }) => ({ status, rows, gzip })),
      [{ status: 204, rows: 50, gzip: true }],
    );
    assert.deepEqual(await sink.health(), { healthy: true });
    assert.equal(sink.stats().pending, 0);
  });
});

void test('delivers audit events to the events table with auditEvents: true, and takes none without', async () => {
  await withSink({}, ({ sink }) => Promise.resolve(assert.equal(sink.deliverEvents, undefined)));
  await withSink({ sink: { auditEvents: true } }, async ({ standIn, sink }) => {
    const event = McpEvent.parse({
      schemaVersion: 1,
      eventId: 'e-1',
      time: '2026-01-01T00:00:00.000Z',
      server: { name: 'files' },
      kind: 'call',
      method: 'tools/call',
      tool: 'read_file',
      outcome: 'ok',
      durationMs: 1.5,
    });
    assert.ok(sink.deliverEvents !== undefined);
    await sink.deliverEvents([event]);
    await sink.whenIdle();
    assert.deepEqual(standIn.rows(EVENTS_TABLE.name), [toRow(EVENTS_TABLE, event)]);
  });
});

void test('batches below the request limit: every request is one upload under maxBatchBytes, all rows arrive', async () => {
  await withSink({ sink: { maxBatchBytes: 100_000 } }, async ({ standIn, sink }) => {
    const alerts = Array.from({ length: 400 }, (_, index) => alertFixture(index, 'batch', 1000));
    await sink.deliver(alerts);
    await sink.whenIdle();
    assert.equal(standIn.rows(ALERTS_TABLE.name).length, 400);
    assert.ok(standIn.requests.length >= 5, `expected several requests, got ${standIn.requests.length}`);
    for (const request of standIn.requests) {
      assert.equal(request.status, 204);
      assert.ok(request.bytes <= 100_000, `request of ${request.bytes} bytes`);
    }
  });
});

void test('honours Retry-After on 429 before sending the same rows again', async () => {
  await withSink({}, async ({ standIn, sink }) => {
    standIn.script({ kind: 'status', status: 429, retryAfterSeconds: 1 });
    await sink.deliver([alertFixture(1)]);
    await sink.whenIdle();
    const [throttled, retried] = standIn.requests;
    assert.equal(throttled?.status, 429);
    assert.equal(retried?.status, 204);
    assert.ok(retried.receivedAt - throttled.receivedAt >= 950, 'retried before Retry-After passed');
    assert.equal(sink.stats().retries, 1);
    assert.equal(standIn.rows(ALERTS_TABLE.name).length, 1);
  });
});

void test('splits a batch the service answers 413 for until the parts fit', async () => {
  await withSink({ standIn: { maxRequestBytes: 8_000 } }, async ({ standIn, sink }) => {
    const alerts = Array.from({ length: 40 }, (_, index) => alertFixture(index, 'split', 200));
    await sink.deliver(alerts);
    await sink.whenIdle();
    assert.deepEqual(
      standIn.rows(ALERTS_TABLE.name).map((row) => row.AlertId),
      alerts.map((alert) => alert.alertId),
    );
    assert.ok(sink.stats().splits >= 2);
    assert.ok(standIn.requests.some((request) => request.status === 413));
    assert.equal(sink.stats().deadLettered, 0);
  });
});

void test('isolates the row a 400 rejects, dead-letters only it and delivers the rest in order', async () => {
  await withSink({}, async ({ standIn, sink, directory }) => {
    const alerts = Array.from({ length: 20 }, (_, index) => alertFixture(index, 'poison'));
    const poisoned = alerts[13]!.alertId;
    standIn.rejectRowsWhere((row) => row.AlertId === poisoned);
    await sink.deliver(alerts);
    await sink.whenIdle();
    assert.deepEqual(
      standIn.rows(ALERTS_TABLE.name).map((row) => row.AlertId),
      alerts.map((alert) => alert.alertId).filter((id) => id !== poisoned),
    );
    const deadLetters = (await readFile(join(directory, 'spool', 'dead-letter.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { reason: string; row: { AlertId: string } });
    assert.deepEqual(
      deadLetters.map((entry) => entry.row.AlertId),
      [poisoned],
    );
    assert.match(deadLetters[0]!.reason, /HTTP 400/);
    assert.equal(sink.stats().deadLettered, 1);
  });
});

void test('on 403 stops sending, keeps every row, reports unhealthy, and sends them all after resume', async () => {
  await withSink({}, async ({ standIn, sink }) => {
    standIn.script({ kind: 'status', status: 403 });
    await sink.deliver([alertFixture(1, 'auth'), alertFixture(2, 'auth')]);
    await sink.whenIdle();
    const health = await sink.health();
    assert.equal(health.healthy, false);
    assert.match(health.detail ?? '', /403.*Monitoring Metrics Publisher.*2 rows kept/s);
    await sink.deliver([alertFixture(3, 'auth')]);
    assert.equal(standIn.requests.length, 1, 'sent again while stopped');
    assert.equal(sink.stats().pending, 3);
    sink.resume();
    await waitFor('rows after resume', () => standIn.rows(ALERTS_TABLE.name).length === 3);
    assert.deepEqual(await sink.health(), { healthy: true });
  });
});

void test('refuses alerts with a retriable DELIVERY_FAILED when the spool is full, and drops none it accepted', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'mcpwatch-azure-full-'));
  const standIn = await startLogsIngestionStandIn();
  await writeFile(join(directory, 'ca.pem'), standIn.caPem);
  standIn.script({ kind: 'status', status: 403 });
  const sink = await AzureMonitorSink.open(
    {
      type: 'azure-monitor',
      endpoint: standIn.endpoint,
      dcrImmutableId: standIn.dcrImmutableId,
      caFile: join(directory, 'ca.pem'),
      spool: { directory: join(directory, 'spool'), maxBytes: 4_000 },
    },
    { credential: standInCredential, logger: pino({ level: 'silent' }) },
  );
  try {
    await sink.deliver([alertFixture(1, 'full')]);
    await sink.whenIdle();
    await assert.rejects(
      sink.deliver(Array.from({ length: 20 }, (_, index) => alertFixture(index, 'full'))),
      (error) => isMcpwatchError(error, 'DELIVERY_FAILED') && error.retriable,
    );
    assert.equal(sink.stats().pending, 1);
  } finally {
    await sink.close();
    await standIn.close();
    await rm(directory, { recursive: true, force: true });
  }
});

void test('dead-letters a row larger than any request instead of blocking the spool', async () => {
  await withSink({ sink: { maxBatchBytes: 2_000 } }, async ({ standIn, sink }) => {
    await sink.deliver([alertFixture(1, 'big', 5_000), alertFixture(2, 'big')]);
    await sink.whenIdle();
    assert.deepEqual(
      standIn.rows(ALERTS_TABLE.name).map((row) => row.AlertId),
      [alertFixture(2, 'big').alertId],
    );
    assert.equal(sink.stats().deadLettered, 1);
  });
});

void test('rejects deliveries after close with DELIVERY_FAILED', async () => {
  await withSink({}, async ({ sink }) => {
    await sink.close();
    await assert.rejects(sink.deliver([alertFixture(1)]), (error) => isMcpwatchError(error, 'DELIVERY_FAILED'));
  });
});

void test('a bad config fails at open naming the key', async () => {
  await assert.rejects(
    AzureMonitorSink.open(
      {
        type: 'azure-monitor',
        endpoint: 'http://127.0.0.1:1',
        dcrImmutableId: 'dcr-0',
        spool: { directory: tmpdir() },
      },
      { credential: standInCredential },
    ),
    (error) =>
      isMcpwatchError(error, 'CONFIG_INVALID') && /azure-monitor sink: endpoint: expected an https/.test(error.message),
  );
  await assert.rejects(
    AzureMonitorSink.open(
      { type: 'azure-monitor', endpoint: 'https://x.example', dcrImmutableId: 'dcr-0', spool: { directory: tmpdir() } },
      { credential: standInCredential },
    ),
    (error) => isMcpwatchError(error, 'CONFIG_INVALID') && /dcrImmutableId/.test(error.message),
  );
});

void test('the synchronous factory validates now, opens in the background and delivers once open', async () => {
  assert.throws(
    () =>
      createAzureMonitorSink({
        type: 'azure-monitor',
        endpoint: 'https://x',
        dcrImmutableId: 'no',
        spool: { directory: tmpdir() },
      }),
    (error) => isMcpwatchError(error, 'CONFIG_INVALID'),
  );
  const standIn = await startLogsIngestionStandIn();
  const directory = await mkdtemp(join(tmpdir(), 'mcpwatch-azure-factory-'));
  await writeFile(join(directory, 'ca.pem'), standIn.caPem);
  const config = {
    type: 'azure-monitor' as const,
    endpoint: standIn.endpoint,
    dcrImmutableId: standIn.dcrImmutableId,
    spool: { directory: join(directory, 'spool') },
  };
  const dependencies = { credential: standInCredential, logger: pino({ level: 'silent' }) };
  const broken = createAzureMonitorSink({ ...config, caFile: join(directory, 'missing.pem') }, dependencies);
  try {
    await assert.rejects(
      broken.deliver([alertFixture(1)]),
      (error) => isMcpwatchError(error, 'DELIVERY_FAILED') && error.retriable,
    );
    assert.match((await broken.health()).detail ?? '', /could not start.*missing\.pem/);
    const sink = createAzureMonitorSink({ ...config, caFile: join(directory, 'ca.pem') }, dependencies);
    await sink.deliver([alertFixture(1, 'factory')]);
    await waitFor('the row', () => standIn.rows(ALERTS_TABLE.name).length === 1);
    await sink.close();
  } finally {
    await broken.close();
    await standIn.close();
    await rm(directory, { recursive: true, force: true });
  }
});

void test('a local write failure while flushing keeps the rows, turns unhealthy and recovers when the disk does', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'mcpwatch-azure-io-'));
  const deadLetterDirectory = join(directory, 'not-yet');
  await withSink(
    { sink: { deadLetterFile: join(deadLetterDirectory, 'dead-letter.jsonl'), unhealthyAfterFailures: 1 } },
    async ({ standIn, sink }) => {
      const alerts = [alertFixture(1, 'io'), alertFixture(2, 'io'), alertFixture(3, 'io')];
      standIn.rejectRowsWhere((row) => row.AlertId === alerts[1]!.alertId);
      await sink.deliver(alerts);
      // Two rounds of bisecting down to the refused row, each ending in the failed dead-letter write.
      await waitFor(
        'two failed rounds',
        () => standIn.requests.filter((request) => request.status === 400).length >= 4,
      );
      assert.equal(sink.stats().pending, 2);
      const health = await sink.health();
      assert.equal(health.healthy, false);
      assert.match(health.detail ?? '', /local I\/O/);
      assert.deepEqual(
        standIn.rows(ALERTS_TABLE.name).map((row) => row.AlertId),
        [alerts[0]!.alertId],
      );
      await mkdir(deadLetterDirectory);
      await sink.whenIdle();
      assert.deepEqual(
        standIn.rows(ALERTS_TABLE.name).map((row) => row.AlertId),
        [alerts[0]!.alertId, alerts[2]!.alertId],
      );
      assert.equal(sink.stats().deadLettered, 1);
    },
  );
  await rm(directory, { recursive: true, force: true });
});
