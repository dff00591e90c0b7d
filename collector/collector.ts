/**
 * Wires the collector: OTLP/HTTP receiver (and optionally the Kafka `otlp_proto` source) → normalize → the
 * bounded event producer on the given transport. `close()` stops taking requests, lets the accepted ones be
 * acknowledged or refused, then closes the producer: an exporter never gets 2xx for what was not stored.
 */
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { isIP } from 'node:net';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { McpwatchError } from '../contracts/errors.ts';
import type { Transport } from '../transport/types.ts';
import { parseCollectorConfig, type CollectorConfig, type CollectorConfigInput } from './config.ts';
import { createCollectorMetrics, type CollectorMetrics } from './metrics.ts';
import { EventProducer } from './sinks/event-producer.ts';
import { startKafkaOtlpSource, type KafkaOtlpSource } from './sources/kafka-otlp.ts';
import { createOtlpHttpListener } from './sources/otlp-http.ts';

export interface CollectorDependencies {
  /** The event log: Kafka in production, embedded in `mcpwatch serve`. Closed by its owner, not by the collector. */
  transport: Transport;
  logger?: Logger;
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
  { transport, logger = pino({ name: 'mcpwatch-collector' }) }: CollectorDependencies,
): Promise<RunningCollector> {
  const config = parseCollectorConfig(input);
  const tokens = await loadTokens(config.auth);
  if (tokens.length === 0 && !isLoopback(config.host) && !config.allowUnauthenticated) {
    throw new McpwatchError(
      'CONFIG_INVALID',
      `host: binding ${config.host} without authentication is refused; configure auth.tokenFile/auth.tokenEnv or set allowUnauthenticated.`,
    );
  }
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

  let closing = false;
  const listener = createOtlpHttpListener({
    limits: config.limits,
    tokens,
    producer,
    metrics,
    logger,
    ready: () => probe(transport, config.topics.events),
    closing: () => closing,
  });
  const server = await createServer(config, listener);
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = isIP(config.host) === 6 ? `[${config.host}]` : config.host;
  const url = `${config.tls === undefined ? 'http' : 'https'}://${host}:${port}`;

  let kafkaSource: KafkaOtlpSource | undefined;
  if (config.kafkaSource !== undefined) {
    kafkaSource = await startKafkaOtlpSource({
      transport,
      producer,
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
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const timeout = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs);
    await kafkaSource?.close();
    await serverClosed;
    clearTimeout(timeout);
    await producer.close();
    logger.info({ url }, 'Collector stopped.');
  };
  return {
    url,
    metrics,
    close: () => (closed ??= close()),
  };
}

async function createServer(config: CollectorConfig, listener: RequestListener): Promise<Server> {
  if (config.tls === undefined) return createHttpServer(listener);
  const [cert, key, ca] = await Promise.all([
    readFile(config.tls.certFile),
    readFile(config.tls.keyFile),
    config.tls.clientCaFile === undefined ? undefined : readFile(config.tls.clientCaFile),
  ]);
  return createHttpsServer(
    ca === undefined ? { cert, key } : { cert, key, ca, requestCert: true, rejectUnauthorized: true },
    listener,
  );
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

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
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
