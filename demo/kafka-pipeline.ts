/**
 * The demo's pipeline when KAFKA_BROKERS is set: `mcpwatch collector` and `mcpwatch detectors` as separate
 * processes over Kafka, exactly as deployed, with this process reading `mcp.alerts.v1` and `mcp.events.v1`
 * for the terminal view and the local dashboard. Each run uses its own consumer groups and starts from the
 * latest offsets, so events of earlier runs on the same broker are not attributed to this one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { Alert } from '../contracts/alert.ts';
import { parseAlert, parseMcpEvent } from '../contracts/parse.ts';
import type { AlertSink } from '../detectors/sinks/types.ts';
import { startDashboardServer } from '../local-dashboard/server.ts';
import { LocalDashboardStore } from '../local-dashboard/store.ts';
import { createTransport } from '../transport/index.ts';
import { TOPICS } from '../transport/topics.ts';
import type { Consumer, IncomingRecord, Transport } from '../transport/types.ts';
import { demoDetectorsConfigInput } from './config.ts';
import { freePort, stopChildren } from './processes.ts';

export interface DemoPipeline {
  otlpUrl: string;
  dashboardUrl: string | undefined;
  store: LocalDashboardStore;
  close(): Promise<void>;
}

export interface KafkaPipelineOptions {
  brokers: string[];
  workDir: string;
  alertsPath: string;
  dashboardPort: number;
  liveSink: AlertSink;
  logger: Logger;
}

const READY_TIMEOUT_MS = 90_000;

export async function startKafkaPipeline(options: KafkaPipelineOptions): Promise<DemoPipeline> {
  const runId = randomBytes(4).toString('hex');
  const children: ChildProcess[] = [];
  const consumers: Consumer[] = [];
  let transport: Transport | undefined;
  const close = async (): Promise<void> => {
    await stopChildren(children);
    for (const consumer of consumers) await consumer.close();
    await transport?.close();
  };

  try {
    const [otlpPort, opsPort] = await Promise.all([freePort(), freePort()]);
    const configPath = join(options.workDir, 'detectors.json');
    const config = demoDetectorsConfigInput(options.alertsPath);
    config.groupId = `mcpwatch-demo-${runId}`;
    config.sinks = [...config.sinks, { type: 'kafka' }];
    config.ops = { port: opsPort };
    // Server and global engines read six partitions here and hold events for event-time order; a live demo
    // releases them within a second or two instead of the production minute.
    config.engine = { allowedLatenessMs: 2_000, idlePartitionMs: 1_000 };
    await writeFile(configPath, JSON.stringify(config, null, 2));

    const brokers = options.brokers.join(',');
    children.push(mcpwatch(['collector', '--brokers', brokers, '--port', String(otlpPort)], options.logger));
    children.push(
      mcpwatch(['detectors', '--brokers', brokers, '--config', configPath, '--from', 'latest'], options.logger),
    );
    await Promise.all([
      waitReady(`http://127.0.0.1:${otlpPort}/readyz`),
      waitReady(`http://127.0.0.1:${opsPort}/readyz`),
    ]);

    const store = new LocalDashboardStore();
    transport = await createTransport({
      kind: 'kafka',
      kafka: { brokers: options.brokers, clientId: `mcpwatch-demo-${runId}` },
    });
    // The sinks and the collector create their topics on first use; this run reads them from the start.
    await transport.ensureTopics([
      { topic: TOPICS.alerts, partitions: 3 },
      { topic: TOPICS.events, partitions: 6 },
    ]);
    const follow = async (topic: string, handle: (record: IncomingRecord) => Promise<void>): Promise<void> => {
      const consumer = await transport!.consumer({
        groupId: `mcpwatch-demo-view-${runId}-${topic}`,
        topics: [topic],
        from: 'latest',
      });
      consumers.push(consumer);
      await new Promise<void>((resolve, reject) => {
        consumer
          .run({
            onAssigned: () => Promise.resolve(resolve()),
            onBatch: async ({ records }) => {
              for (const record of records) await handle(record);
            },
          })
          .catch((error: unknown) => {
            options.logger.error({ err: error, topic }, 'Demo view consumer stopped.');
            reject(error instanceof Error ? error : new Error(String(error)));
          });
      });
    };
    await follow(TOPICS.alerts, async (record) => {
      const parsed = parseAlert(JSON.parse(record.value.toString('utf8')) as unknown);
      if (!parsed.ok) return;
      const alert: Alert = parsed.value;
      store.addAlerts([alert]);
      await options.liveSink.deliver([alert]);
    });
    await follow(TOPICS.events, (record) => {
      const parsed = parseMcpEvent(JSON.parse(record.value.toString('utf8')) as unknown);
      if (parsed.ok) store.ingest(parsed.value);
      return Promise.resolve();
    });

    const dashboard = await startDashboardServer({ store, port: options.dashboardPort });
    return {
      otlpUrl: `http://127.0.0.1:${otlpPort}`,
      dashboardUrl: dashboard.url,
      store,
      close: async () => {
        await dashboard.close();
        await close();
      },
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Runs the `mcpwatch` CLI as a child, from source with tsx or from `dist/` once built. */
function mcpwatch(args: string[], logger: Logger): ChildProcess {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = fileURLToPath(new URL(`../cli/main.${fromSource ? 'ts' : 'js'}`, import.meta.url));
  const child = spawn(
    process.execPath,
    [...(fromSource ? ['--import', 'tsx'] : []), entry, '--log-level', 'warn', ...args],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  child.stderr.on('data', (chunk: Buffer) => logger.debug({ command: args[0] }, chunk.toString('utf8').trim()));
  return child;
}

async function waitReady(url: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const ready = await fetch(url).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`${url} did not report ready within ${READY_TIMEOUT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
