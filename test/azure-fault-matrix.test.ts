/**
 * The Azure Monitor delivery guarantee under every fault the Logs Ingestion API can answer with, and under a
 * crash of the sink mid-flush: the rows stored at the (stand-in) service are a superset of the alerts whose
 * `deliver` resolved, minus those dead-lettered with a reason, and a repeat is always the same row with the same
 * AlertId. Real SDK, real HTTPS, real process kill.
 *
 * The file is also the crashing sink: run with MCPWATCH_AZURE_SINK_CHILD set, it delivers alerts and reports
 * each accepted batch on stdout until it is killed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { pino } from 'pino';
import type { Alert } from '../contracts/alert.ts';
import { ALERTS_TABLE, toRow } from '../contracts/log-analytics.ts';
import {
  startLogsIngestionStandIn,
  type IngestionFault,
  type LogsIngestionStandIn,
  type StandInOptions,
} from './support/logs-ingestion-stand-in.ts';
import type { AzureMonitorSinkConfig } from '../detectors/sinks/azure-monitor-config.ts';
import { AzureMonitorSink } from '../detectors/sinks/azure-monitor.ts';
import { alertFixture, standInCredential } from './support/azure-monitor-fixtures.ts';
import { waitFor } from './support/wait-for.ts';

const CHILD_ENV = 'MCPWATCH_AZURE_SINK_CHILD';

interface ChildPlan {
  config: AzureMonitorSinkConfig;
  batches: number;
  batchSize: number;
}

function sinkConfig(standIn: LogsIngestionStandIn, directory: string): AzureMonitorSinkConfig {
  return {
    type: 'azure-monitor',
    endpoint: standIn.endpoint,
    dcrImmutableId: standIn.dcrImmutableId,
    caFile: join(directory, 'ca.pem'),
    spool: { directory: join(directory, 'spool') },
    retry: { baseDelayMs: 5, maxDelayMs: 40 },
    closeTimeoutMs: 2_000,
  };
}

const openSink = (config: AzureMonitorSinkConfig): Promise<AzureMonitorSink> =>
  AzureMonitorSink.open(config, { credential: standInCredential, logger: pino({ level: 'silent' }) });

/**
 * Stored ⊇ accepted − dead-lettered, every stored row is exactly the row of an accepted alert (so a repeat has the
 * same AlertId and content), and nothing was dead-lettered that the scenario did not poison.
 */
function assertDelivered(stored: Record<string, unknown>[], accepted: readonly Alert[], deadLettered: Set<string>) {
  const expected = new Map(accepted.map((alert) => [alert.alertId, toRow(ALERTS_TABLE, alert)]));
  for (const row of stored) {
    const alertId = row.AlertId as string;
    assert.ok(expected.has(alertId), `stored a row for an alert never emitted: ${alertId}`);
    assert.deepEqual(row, expected.get(alertId), `repeat of ${alertId} differs`);
  }
  const storedIds = new Set(stored.map((row) => row.AlertId));
  for (const alertId of expected.keys()) {
    assert.ok(
      storedIds.has(alertId) !== deadLettered.has(alertId),
      `alert ${alertId} lost or stored and dead-lettered`,
    );
  }
}

async function deadLetteredIds(directory: string): Promise<Set<string>> {
  const text = await readFile(join(directory, 'spool', 'dead-letter.jsonl'), 'utf8').catch(() => '');
  return new Set(
    text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => (JSON.parse(line) as { row: { AlertId: string } }).row.AlertId),
  );
}

async function inScratch(
  options: StandInOptions,
  body: (standIn: LogsIngestionStandIn, directory: string) => Promise<void>,
) {
  const standIn = await startLogsIngestionStandIn(options);
  const directory = await mkdtemp(join(tmpdir(), 'mcpwatch-fault-matrix-'));
  await writeFile(join(directory, 'ca.pem'), standIn.caPem);
  try {
    await body(standIn, directory);
  } finally {
    await standIn.close();
    await rm(directory, { recursive: true, force: true });
  }
}

interface FaultCase {
  name: string;
  faults: IngestionFault[];
  standIn?: StandInOptions;
  /** Alert indexes the stand-in refuses with 400 whatever request they are in. */
  poisoned?: number[];
  /** Stops on 401/403/404: the scenario checks health and resumes. */
  stops?: boolean;
}

const cases: FaultCase[] = [
  {
    name: '429 with Retry-After',
    faults: [
      { kind: 'status', status: 429, retryAfterSeconds: 0 },
      { kind: 'status', status: 429 },
    ],
  },
  {
    name: '500 and 502',
    faults: [
      { kind: 'status', status: 500 },
      { kind: 'status', status: 502 },
    ],
  },
  { name: '503 with Retry-After', faults: [{ kind: 'status', status: 503, retryAfterSeconds: 0 }] },
  { name: '408', faults: [{ kind: 'status', status: 408 }] },
  { name: 'connection reset', faults: [{ kind: 'reset' }, { kind: 'reset' }] },
  { name: 'lost answer (rows stored, no response)', faults: [{ kind: 'store-then-hang' }] },
  { name: '413', faults: [], standIn: { maxRequestBytes: 6_000 } },
  { name: '400 for one bad row', faults: [], poisoned: [4, 17] },
  { name: '403', faults: [{ kind: 'status', status: 403 }], stops: true },
  { name: '401', faults: [{ kind: 'status', status: 401 }], stops: true },
  { name: '404', faults: [{ kind: 'status', status: 404 }], stops: true },
];

function registerTests(): void {
  for (const faultCase of cases) {
    void test(`fault matrix: ${faultCase.name} — stored ⊇ emitted, repeats only with the same AlertId`, async () => {
      await inScratch(faultCase.standIn ?? {}, async (standIn, directory) => {
        const alerts = Array.from({ length: 30 }, (_, index) => alertFixture(index, faultCase.name, 150));
        const poisoned = new Set((faultCase.poisoned ?? []).map((index) => alerts[index]!.alertId));
        standIn.rejectRowsWhere((row) => poisoned.has(row.AlertId as string));
        standIn.script(...faultCase.faults);
        const sink = await openSink({ ...sinkConfig(standIn, directory), requestTimeoutMs: 500 });
        try {
          for (let start = 0; start < alerts.length; start += 10) await sink.deliver(alerts.slice(start, start + 10));
          await sink.whenIdle();
          if (faultCase.stops === true) {
            assert.equal((await sink.health()).healthy, false);
            assert.equal(standIn.rows(ALERTS_TABLE.name).length, 0);
            sink.resume();
            await waitFor('delivery after resume', () => sink.stats().pending === 0);
          }
          assertDelivered(standIn.rows(ALERTS_TABLE.name), alerts, await deadLetteredIds(directory));
          assert.deepEqual(await deadLetteredIds(directory), poisoned);
          assert.deepEqual(await sink.health(), { healthy: true });
        } finally {
          await sink.close();
        }
      });
    });
  }

  void test('fault matrix: sink killed (SIGKILL) mid-flush, restarted on the same spool — nothing accepted is lost', async () => {
    await inScratch({}, async (standIn, directory) => {
      // The first request is stored and never answered: the child dies between the service's write and its ack.
      standIn.script({ kind: 'store-then-hang' });
      const plan: ChildPlan = { config: sinkConfig(standIn, directory), batches: 5, batchSize: 10 };
      const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
        env: { ...process.env, [CHILD_ENV]: JSON.stringify(plan) },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        child.once('exit', (_code, signal) => resolve(signal)),
      );
      const acceptedIds: string[] = [];
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (line.startsWith('accepted ')) acceptedIds.push(...line.slice('accepted '.length).split(','));
      });
      try {
        await waitFor('all batches accepted by the child', () => acceptedIds.length === 50);
        await waitFor('the in-flight request', () => standIn.rows(ALERTS_TABLE.name).length >= 10);
      } finally {
        child.kill('SIGKILL');
      }
      assert.equal(await exited, 'SIGKILL');
      const storedBeforeRestart = standIn.rows(ALERTS_TABLE.name).length;

      const sink = await openSink(plan.config);
      try {
        await sink.whenIdle();
      } finally {
        await sink.close();
      }
      const alerts = Array.from({ length: 50 }, (_, index) => alertFixture(index, 'crash'));
      assert.deepEqual(
        acceptedIds,
        alerts.map((alert) => alert.alertId),
      );
      const stored = standIn.rows(ALERTS_TABLE.name);
      assertDelivered(stored, alerts, new Set());
      // The rows of the request in flight at the kill went twice: the guarantee is at least once.
      assert.equal(stored.length, 50 + storedBeforeRestart);
      assert.ok(storedBeforeRestart >= 10);
    });
  });
}

async function runChild(plan: ChildPlan): Promise<void> {
  const sink = await openSink(plan.config);
  for (let batch = 0; batch < plan.batches; batch += 1) {
    const alerts = Array.from({ length: plan.batchSize }, (_, index) =>
      alertFixture(batch * plan.batchSize + index, 'crash'),
    );
    await sink.deliver(alerts);
    process.stdout.write(`accepted ${alerts.map((alert) => alert.alertId).join(',')}\n`);
  }
  // Stay alive, mid-flush, until the parent kills this process; never outlive a parent that died first.
  setTimeout(() => process.exit(1), 60_000);
}

const childPlan = process.env[CHILD_ENV];
if (childPlan === undefined) registerTests();
else await runChild(JSON.parse(childPlan) as ChildPlan);
