/**
 * Alerts per second into the local Logs Ingestion stand-in (HTTPS on loopback, real `LogsIngestionClient`, gzip,
 * per-row validation against the generated stream). The baseline is the SDK alone, uploading ready rows with no
 * spool; the sink rows add what the guarantee costs: fsync of every `deliver` into the spool, batching, acks.
 * The stand-in is on the same two cores, so the numbers bound the sink's own cost, not Azure's ingestion rate.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogsIngestionClient } from '@azure/monitor-ingestion';
import { pino } from 'pino';
import { ALERTS_TABLE, toRow } from '../contracts/log-analytics.ts';
import { startLogsIngestionStandIn, type LogsIngestionStandIn } from '../test/support/logs-ingestion-stand-in.ts';
import { AzureMonitorSink } from '../detectors/sinks/azure-monitor.ts';
import { alertFixture, standInCredential } from '../test/support/azure-monitor-fixtures.ts';
import { measure, printTable } from './harness.ts';
import { waitFor } from '../test/support/wait-for.ts';

const alertsPerRun = 10_000;
const runs = 3;
const alerts = Array.from({ length: alertsPerRun }, (_, index) => alertFixture(index, 'bench', 200));
const rows = alerts.map((alert) => toRow(ALERTS_TABLE, alert));

interface SinkState {
  sink: AzureMonitorSink;
  directory: string;
}

export default async function azureMonitor(): Promise<void> {
  const standIn = await startLogsIngestionStandIn();
  const stored = (): number => standIn.rows(ALERTS_TABLE.name).length;
  try {
    const client = new LogsIngestionClient(standIn.endpoint, standInCredential, {
      tlsOptions: { ca: standIn.caPem },
      retryOptions: { maxRetries: 0 },
    });
    const baseline = await measure({
      name: 'SDK upload(), no spool',
      runs,
      run: async () => {
        const before = stored();
        await client.upload(standIn.dcrImmutableId, ALERTS_TABLE.streamName, rows, { maxConcurrency: 1 });
        return { units: stored() - before };
      },
    });
    const sinkRow = (name: string, deliverSize: number, until: 'accepted' | 'stored') =>
      measure<SinkState>({
        name,
        runs,
        setup: () => openSink(standIn),
        run: async ({ sink }) => {
          const target = stored() + alertsPerRun;
          const startedAt = performance.now();
          for (let start = 0; start < alerts.length; start += deliverSize) {
            await sink.deliver(alerts.slice(start, start + deliverSize));
          }
          if (until === 'stored') await waitFor('all rows stored', () => stored() >= target, 120_000);
          const timedMs = performance.now() - startedAt;
          await sink.whenIdle();
          return { units: alertsPerRun, timedMs };
        },
        teardown: async ({ sink, directory }) => {
          await sink.close();
          await rm(directory, { recursive: true, force: true });
        },
      });
    const table = [
      baseline,
      await sinkRow('sink, deliver 1000/call, until stored', 1000, 'stored'),
      await sinkRow('sink, deliver 100/call, until stored', 100, 'stored'),
      await sinkRow('sink, deliver 100/call, until accepted (fsync)', 100, 'accepted'),
    ];
    printTable(
      `Alerts into the Logs Ingestion stand-in, ${alertsPerRun.toLocaleString('en-US')} alerts of ~0.7 KiB per run`,
      table,
      { baseline: baseline.name, unit: 'alerts/s' },
    );
  } finally {
    await standIn.close();
  }
}

async function openSink(standIn: LogsIngestionStandIn): Promise<SinkState> {
  const directory = await mkdtemp(join(tmpdir(), 'mcpwatch-bench-azure-'));
  await writeFile(join(directory, 'ca.pem'), standIn.caPem);
  const sink = await AzureMonitorSink.open(
    {
      type: 'azure-monitor',
      endpoint: standIn.endpoint,
      dcrImmutableId: standIn.dcrImmutableId,
      caFile: join(directory, 'ca.pem'),
      spool: { directory: join(directory, 'spool') },
    },
    { credential: standInCredential, logger: pino({ level: 'silent' }) },
  );
  return { sink, directory };
}
