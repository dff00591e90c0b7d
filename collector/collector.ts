/**
 * Wires the collector: OTLP/HTTP receiver (and optionally the Kafka `otlp_proto` source) → normalize → the
 * bounded event producer on the given transport. `close()` stops taking requests, lets the accepted ones be
 * acknowledged or refused, then closes the producer: an exporter never gets 2xx for what was not stored.
 */
import { readFile } from 'node:fs/promises';
import { pino, type Logger } from 'pino';
import { McpwatchError } from '../contracts/errors.ts';
import { startHttpServer } from '../transport/http-server.ts';
import type { Transport } from '../transport/types.ts';
import { parseCollectorConfig, type CollectorConfig, type CollectorConfigInput } from './config.ts';
import { createCollectorMetrics, type CollectorMetrics } from './metrics.ts';
import { EventProducer } from './sinks/event-producer.ts';
import { startKafkaOtlpSource, type KafkaOtlpSource } from './sources/kafka-otlp.ts';
import { createOtlpHttpHandler } from './sources/otlp-http.ts';
import { IngestPipeline } from './pipeline.ts';

export interface CollectorDependencies {
  /** The event log: Kafka in production, embedded in `mcpwatch serve`. Closed by its owner, not by the collector. */
  transport: Transport;
  logger?: Logger;
  /**
   * Whether the process still does its job beyond receiving (`mcpwatch serve`: detection is running); its
   * `/healthz` answers 503 once this turns false, so a supervisor restarts what stopped detecting.
   */
  live?: () => boolean;
}

export interface RunningCollector {
  /** Base URL of the receiver, e.g. `http://127.0.0.1:4318`. */
  url: string;
  metrics: CollectorMetrics;
  close(): Promise<void>;
}

const READY_PROBE_MS = 2_000;

export async function startCollector(
  input: CollectorConfigInput,
  { transport, logger = pino({ name: 'mcpwatch-collector' }), live }: CollectorDependencies,
): Promise<RunningCollector> {
  const config = parseCollectorConfig(input);
  const tokens = await loadTokens(config.auth);
  await transport.ensureTopics([
    { topic: config.topics.events, partitions: config.topics.eventPartitions },
    { topic: config.topics.deadLetter, partitions: 1 },
  ]);
  const metrics = createCollectorMetrics();
  const rawProducer = await transport.producer();
  const producer = new EventProducer(
    rawProducer,
    {
      eventsTopic: config.topics.events,
      deadLetterTopic: config.topics.deadLetter,
      maxBufferedRecords: config.buffer.maxRecords,
      maxSendRecords: config.buffer.maxSendRecords,
      unavailableMs: config.buffer.unavailableMs,
      maxUnavailableMs: config.buffer.maxUnavailableMs,
    },
    metrics,
  );

  const pipeline = new IngestPipeline(producer, metrics, logger);
  let closing = false;
  const handle = createOtlpHttpHandler({
    limits: config.limits,
    pipeline,
    metrics,
    logger,
    retryAfterSeconds: () => producer.retryAfterSeconds,
    closing: () => closing,
  });
  const server = await startHttpServer({
    host: config.host,
    port: config.port,
    tokens,
    allowUnauthenticated: config.allowUnauthenticated,
    ...(config.allowedHosts === undefined ? {} : { allowedHosts: config.allowedHosts }),
    ...(config.allowedOrigins === undefined ? {} : { allowedOrigins: config.allowedOrigins }),
    ...(config.tls === undefined ? {} : { tls: await loadTls(config.tls) }),
    ...(live === undefined ? {} : { live }),
    ready: async () => {
      const ready = !closing && (await probe(transport, config.topics.events));
      return ready ? { ready } : { ready, detail: closing ? 'shutting down' : 'event log unreachable' };
    },
    handle,
    onError: (error) => logger.error({ err: error }, 'OTLP request failed unexpectedly.'),
  }).catch((error: unknown) => {
    if (error instanceof McpwatchError && error.code === 'CONFIG_INVALID') {
      throw new McpwatchError(
        'CONFIG_INVALID',
        `host: binding ${config.host} without authentication is refused; configure auth.tokenFile/auth.tokenEnv or set allowUnauthenticated.`,
      );
    }
    throw error;
  });
  const url = server.url;

  let kafkaSource: KafkaOtlpSource | undefined;
  if (config.kafkaSource !== undefined) {
    kafkaSource = await startKafkaOtlpSource({
      transport,
      pipeline,
      deadLetterProducer: rawProducer,
      deadLetterTopic: config.topics.deadLetter,
      options: config.kafkaSource,
      limits: config.limits,
      metrics,
      logger,
    });
  }
  logger.info({ url, auth: tokens.length > 0, tls: config.tls !== undefined }, 'Collector listening.');

  let closed: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    closing = true;
    const serverClosed = server.close(config.shutdownTimeoutMs);
    await kafkaSource?.close();
    await serverClosed;
    await producer.close();
    logger.info({ url }, 'Collector stopped.');
  };
  return {
    url,
    metrics,
    close: () => (closed ??= close()),
  };
}

async function loadTls(tls: NonNullable<CollectorConfig['tls']>): Promise<{ cert: Buffer; key: Buffer; ca?: Buffer }> {
  const [cert, key, ca] = await Promise.all([
    readFile(tls.certFile),
    readFile(tls.keyFile),
    tls.clientCaFile === undefined ? undefined : readFile(tls.clientCaFile),
  ]);
  return ca === undefined ? { cert, key } : { cert, key, ca };
}

async function loadTokens(auth: CollectorConfig['auth']): Promise<string[]> {
  if (auth === undefined) return [];
  const tokens: string[] = [];
  if (auth.tokenFile !== undefined) {
    const text = await readFile(auth.tokenFile, 'utf8').catch((cause: unknown) => {
      throw new McpwatchError('CONFIG_INVALID', `auth.tokenFile: cannot read ${auth.tokenFile}`, { cause });
    });
    for (const line of text.split('\n')) {
      const token = line.trim();
      if (token !== '' && !token.startsWith('#')) tokens.push(token);
    }
  }
  if (auth.tokenEnv !== undefined) {
    const token = process.env[auth.tokenEnv]?.trim();
    if (token === undefined || token === '') {
      throw new McpwatchError('CONFIG_INVALID', `auth.tokenEnv: environment variable ${auth.tokenEnv} is not set`);
    }
    tokens.push(token);
  }
  if (tokens.length === 0) throw new McpwatchError('CONFIG_INVALID', 'auth: configured but no token found');
  return tokens;
}

async function probe(transport: Transport, topic: string): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), READY_PROBE_MS);
  });
  try {
    return await Promise.race([transport.partitionCount(topic).then(() => true), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
