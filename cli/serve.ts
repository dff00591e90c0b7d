/**
 * `mcpwatch serve`: the whole pipeline in one process on the embedded transport — OTLP/HTTP receiver,
 * normalization, the detectors runtime with its sinks, and the local dashboard. The same parts as the
 * scaled-out services, wired to an in-process log instead of Kafka.
 */
import type { Logger } from 'pino';
import { startCollector, type RunningCollector } from '../collector/collector.ts';
import { parseMcpEvent } from '../contracts/parse.ts';
import type { DetectorsConfig } from '../detectors/config.ts';
import { loadDetectorsConfig } from './detectors-config.ts';
import { RULES } from '../detectors/rules/index.ts';
import { startDetectors, type DetectorsRuntime } from '../detectors/runtime.ts';
import { createSinks } from '../detectors/sinks/index.ts';
import type { AlertSink } from '../detectors/sinks/types.ts';
import { startDashboardServer, type DashboardServer } from '../local-dashboard/server.ts';
import { LocalDashboardStore } from '../local-dashboard/store.ts';
import { EmbeddedTransport } from '../transport/embedded.ts';
import { TOPICS } from '../transport/topics.ts';
import type { Consumer, Transport } from '../transport/types.ts';
import { McpwatchError } from '../contracts/errors.ts';

export interface ServeOptions {
  /** OTLP/HTTP receiver address. */
  host: string;
  port: number;
  /** Local dashboard port; `false` runs without it. */
  dashboardPort: number | false;
  dashboardToken?: string;
  /** Detectors configuration file (JSON or YAML). */
  configPath?: string;
  /** Replaces the file's detectors configuration (the demo uses this). */
  config?: DetectorsConfig;
  /** Sinks besides the configured ones, e.g. the demo's live view. */
  extraSinks?: AlertSink[];
  logger: Logger;
}

export interface RunningServe {
  otlpUrl: string;
  dashboardUrl: string | undefined;
  store: LocalDashboardStore;
  collector: RunningCollector;
  detectors: DetectorsRuntime;
  transport: EmbeddedTransport;
  close(): Promise<void>;
}

/** One partition: on one machine nothing is gained by splitting, and every rule then sees every event in order. */
const EMBEDDED_EVENT_PARTITIONS = 1;

export async function startServe(options: ServeOptions): Promise<RunningServe> {
  const { logger } = options;
  const config =
    options.config ??
    (await loadDetectorsConfig(RULES, options.configPath === undefined ? {} : { path: options.configPath }));
  const transport = new EmbeddedTransport();
  const store = new LocalDashboardStore();
  const started: { close(): Promise<void> }[] = [];
  const closeAll = async (): Promise<void> => {
    for (const part of started.reverse()) await part.close();
    await transport.close();
  };

  try {
    // Filled in once the detectors run; until then the receiver reports not ready. Once they ran and stopped,
    // `/healthz` is red too: a serve that no longer detects must not look alive.
    const detection = { running: (): boolean => false, started: false };
    const collector = await startCollector(
      { host: options.host, port: options.port, topics: { eventPartitions: EMBEDDED_EVENT_PARTITIONS } },
      {
        transport: gatedByDetection(transport, () => detection.running()),
        logger: logger.child({ part: 'collector' }),
        live: () => !detection.started || detection.running(),
      },
    );
    started.push(collector);

    const dashboardSink: AlertSink = {
      name: 'local-dashboard',
      deliver: (alerts) => Promise.resolve(store.addAlerts(alerts)),
      health: () => Promise.resolve({ healthy: true }),
      close: () => Promise.resolve(),
    };
    const sinks = [...createSinks(config.sinks, { transport }), dashboardSink, ...(options.extraSinks ?? [])];
    const detectors = await startDetectors({
      transport,
      config,
      sinks,
      logger: logger.child({ part: 'detectors' }),
      eventPartitions: EMBEDDED_EVENT_PARTITIONS,
    });
    started.push(detectors);

    const feed = await feedDashboard(transport, store, logger);
    started.push(feed);

    let dashboard: DashboardServer | undefined;
    if (options.dashboardPort !== false) {
      dashboard = await startDashboardServer({
        store,
        host: options.host,
        port: options.dashboardPort,
        ...(options.dashboardToken === undefined ? {} : { token: options.dashboardToken }),
      });
      started.push(dashboard);
    }

    detection.running = () => detectors.running();
    detection.started = true;
    detectors.done.catch(() =>
      logger.error('Detection stopped: serve reports unhealthy (/healthz and /readyz 503) until it is restarted.'),
    );

    return {
      otlpUrl: collector.url,
      dashboardUrl: dashboard?.url,
      store,
      collector,
      detectors,
      transport,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/**
 * The log as the receiver sees it: its readiness probe (`partitionCount`) fails while detection is not
 * running, so `serve`'s `/readyz` is red whenever the detectors stopped or failed, not only when the log is.
 */
function gatedByDetection(transport: EmbeddedTransport, detecting: () => boolean): Transport {
  return {
    kind: transport.kind,
    ensureTopics: (topics) => transport.ensureTopics(topics),
    producer: () => transport.producer(),
    consumer: (options) => transport.consumer(options),
    readPartition: (topic, partition) => transport.readPartition(topic, partition),
    partitionCount: (topic) =>
      detecting()
        ? transport.partitionCount(topic)
        : Promise.reject(new McpwatchError('NOT_READY', 'Detection is not running')),
    close: () => transport.close(),
  };
}

/** The dashboard's view of events: its own consumer group, so it never holds back the detectors. */
async function feedDashboard(
  transport: EmbeddedTransport,
  store: LocalDashboardStore,
  logger: Logger,
): Promise<{ close(): Promise<void> }> {
  const consumer: Consumer = await transport.consumer({ groupId: 'mcpwatch-local-dashboard', topics: [TOPICS.events] });
  const running = consumer.run({
    onBatch: async ({ topic, partition, records }) => {
      for (const record of records) {
        const parsed = parseMcpEvent(parseJson(record.value.toString('utf8')));
        // The detectors dead-letter and count what does not parse; the dashboard only shows what does.
        if (parsed.ok) store.ingest(parsed.value);
      }
      await consumer.commit([{ topic, partition, offset: String(BigInt(records.at(-1)!.offset) + 1n) }]);
    },
  });
  running.catch((error: unknown) =>
    logger.error({ err: error }, 'Local dashboard feed stopped; the dashboard shows no new events.'),
  );
  return {
    close: async () => {
      await consumer.close();
      await running.catch(() => undefined);
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
