/**
 * Alerts per second into the local Splunk HEC stand-in (HTTPS on loopback, gzip, indexer acknowledgement), beside
 * the Azure Monitor sink into its Logs Ingestion stand-in measured in the same run. The baseline is HEC alone:
 * ready gzip bodies POSTed with no acknowledgement wait; the sink rows add what the guarantee costs (serializing,
 * compressing, polling `/services/collector/ack` until every event is indexed before `deliver` resolves). Both
 * stand-ins run on the same two cores, so the numbers bound the sinks' own cost, not Splunk's or Azure's rate.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { pino } from 'pino';
import { ALERTS_TABLE } from '../contracts/log-analytics.ts';
import { startLogsIngestionStandIn } from '../test/support/logs-ingestion-stand-in.ts';
import { AzureMonitorSink } from '../detectors/sinks/azure-monitor.ts';
import { alertFixture, standInCredential } from '../test/support/azure-monitor-fixtures.ts';
import type { AlertFormat } from '../detectors/sinks/format.ts';
import { SplunkHecSink } from '../detectors/sinks/splunk-hec.ts';
import { HEC_STAND_IN_TOKEN, startSplunkHecStandIn } from '../test/support/splunk-hec-stand-in.ts';
import { measure, printTable } from './harness.ts';
import { waitFor } from '../test/support/wait-for.ts';

const alertsPerRun = 10_000;
const runs = 3;
const alerts = Array.from({ length: alertsPerRun }, (_, index) => alertFixture(index, 'bench', 200));

export default async function splunkHec(): Promise<void> {
  const standIn = await startSplunkHecStandIn({ tls: true });
  const azure = await startLogsIngestionStandIn();
  const directory = await mkdtemp(join(tmpdir(), 'mcpwatch-bench-hec-'));
  await writeFile(join(directory, 'ca.pem'), standIn.caPem!);
  await writeFile(join(directory, 'azure-ca.pem'), azure.caPem);
  const indexed = (): number => standIn.events().length;
  try {
    // HEC alone: the same events, compressed once up front, 1000 per request, no ack wait.
    const bodies = await Promise.all(
      Array.from({ length: alertsPerRun / 1000 }, (_, chunk) =>
        promisify(gzip)(
          alerts
            .slice(chunk * 1000, chunk * 1000 + 1000)
            .map((alert) => JSON.stringify({ time: Date.parse(alert.time) / 1000, event: alert }))
            .join('\n'),
        ),
      ),
    );
    const agent = new Agent({ keepAlive: true, ca: standIn.caPem! });
    const post = (body: Buffer): Promise<void> =>
      new Promise((resolve, reject) => {
        const outgoing = request(
          `${standIn.url}/services/collector/event`,
          {
            method: 'POST',
            agent,
            headers: {
              authorization: `Splunk ${HEC_STAND_IN_TOKEN}`,
              'x-splunk-request-channel': '00000000-0000-4000-8000-000000000001',
              'content-encoding': 'gzip',
            },
          },
          (response) => {
            response.resume();
            response.on('end', () => (response.statusCode === 200 ? resolve() : reject(new Error('refused'))));
          },
        );
        outgoing.on('error', reject);
        outgoing.end(body);
      });
    const baseline = await measure({
      name: 'HEC POST alone, no ack wait',
      runs,
      run: async () => {
        const before = indexed();
        for (const body of bodies) await post(body);
        return { units: indexed() - before };
      },
    });
    agent.destroy();

    const hecRow = (name: string, deliverSize: number, format: AlertFormat) =>
      measure<SplunkHecSink>({
        name,
        runs,
        setup: () =>
          Promise.resolve(
            new SplunkHecSink({
              type: 'splunk-hec',
              url: standIn.url,
              token: HEC_STAND_IN_TOKEN,
              caFile: join(directory, 'ca.pem'),
              format,
              ackPollMs: 10,
            }),
          ),
        run: async (sink) => {
          for (let start = 0; start < alerts.length; start += deliverSize) {
            await sink.deliver(alerts.slice(start, start + deliverSize));
          }
          return { units: alertsPerRun };
        },
        teardown: (sink) => sink.close(),
      });
    const azureRow = await measure<AzureMonitorSink>({
      name: 'Azure Monitor sink, deliver 100/call, until stored',
      runs,
      setup: async () =>
        AzureMonitorSink.open(
          {
            type: 'azure-monitor',
            endpoint: azure.endpoint,
            dcrImmutableId: azure.dcrImmutableId,
            caFile: join(directory, 'azure-ca.pem'),
            spool: { directory: await mkdtemp(join(directory, 'spool-')) },
          },
          { credential: standInCredential, logger: pino({ level: 'silent' }) },
        ),
      run: async (sink) => {
        const target = azure.rows(ALERTS_TABLE.name).length + alertsPerRun;
        for (let start = 0; start < alerts.length; start += 100) await sink.deliver(alerts.slice(start, start + 100));
        await waitFor('all rows stored', () => azure.rows(ALERTS_TABLE.name).length >= target, 120_000);
        return { units: alertsPerRun };
      },
      teardown: (sink) => sink.close(),
    });
    const table = [
      baseline,
      await hecRow('HEC sink, deliver 1000/call, until acked', 1000, 'mcpwatch'),
      await hecRow('HEC sink, deliver 100/call, until acked', 100, 'mcpwatch'),
      await hecRow('HEC sink, deliver 100/call, OCSF, until acked', 100, 'ocsf'),
      azureRow,
    ];
    printTable(
      `Alerts into the Splunk HEC stand-in (and the Azure sink beside it), ${alertsPerRun.toLocaleString('en-US')} alerts of ~0.7 KiB per run`,
      table,
      { baseline: baseline.name, unit: 'alerts/s' },
    );
  } finally {
    await standIn.close();
    await azure.close();
    await rm(directory, { recursive: true, force: true });
  }
}
