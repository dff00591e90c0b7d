/** The collector's configuration: one schema, unknown keys rejected, every limit on by default. */
import { z } from 'zod';
import { McpwatchError } from '../contracts/errors.ts';
import { describeIssues, issuesOf } from '../contracts/parse.ts';
import { TOPICS } from '../transport/topics.ts';

const MiB = 1024 * 1024;

export const CollectorConfig = z.strictObject({
  /** Address the OTLP/HTTP receiver binds to; anything but loopback needs `auth` or `allowUnauthenticated`. */
  host: z.string().min(1).default('127.0.0.1'),
  /** OTLP/HTTP port (4318 is the OTLP default); 0 picks a free one. */
  port: z.number().int().min(0).max(65_535).default(4318),
  /** Bearer tokens clients must present; each source lists tokens (the file: one per line). */
  auth: z
    .strictObject({
      /** File with one accepted token per line; blank lines and `#` comments ignored. */
      tokenFile: z.string().min(1).optional(),
      /** Name of an environment variable holding one accepted token. */
      tokenEnv: z.string().min(1).optional(),
    })
    .optional(),
  /** Allows binding a non-loopback address without bearer tokens (e.g. behind an authenticating proxy). */
  allowUnauthenticated: z.boolean().default(false),
  /** Host names accepted in `Host` besides loopback and the bound address (`*`: any); guards DNS rebinding. */
  allowedHosts: z.array(z.string().min(1)).optional(),
  /** Origins (`scheme://host[:port]`) whose browser pages may export, e.g. an OpenTelemetry web SDK. */
  allowedOrigins: z.array(z.string().min(1)).optional(),
  /** TLS for the receiver; with `clientCaFile`, clients must present a certificate it signed (mTLS). */
  tls: z
    .strictObject({
      certFile: z.string().min(1),
      keyFile: z.string().min(1),
      clientCaFile: z.string().min(1).optional(),
    })
    .optional(),
  limits: z
    .strictObject({
      /** Request body as received (compressed), in bytes; more is answered 413. */
      maxBodyBytes: z
        .number()
        .int()
        .positive()
        .default(4 * MiB),
      /** Request body after gunzip, in bytes; more is answered 413 (gzip bombs). */
      maxDecompressedBytes: z
        .number()
        .int()
        .positive()
        .default(16 * MiB),
      /** Attributes in one attribute list (resource, scope, span, log record); more dead-letters that record. */
      maxAttributes: z.number().int().positive().default(256),
      /** Nesting of array/map values inside one attribute or log body; deeper values are flattened to a marker. */
      maxValueDepth: z.number().int().positive().max(64).default(32),
      /** Entries of one array or map value; more dead-letters that record. */
      maxCollectionEntries: z.number().int().positive().default(8192),
      /** Bytes of one string or bytes value; more dead-letters that record. */
      maxStringBytes: z
        .number()
        .int()
        .positive()
        .default(1 * MiB),
      /** Resources, scopes, records, attributes, values and unknown fields in one request; more is answered 400. */
      maxEntries: z.number().int().positive().default(500_000),
    })
    .prefault({}),
  buffer: z
    .strictObject({
      /** Records accepted and not yet acknowledged by Kafka; beyond it requests are answered 429. */
      maxRecords: z.number().int().positive().default(20_000),
      /** Records per producer send. */
      maxSendRecords: z.number().int().positive().default(2_000),
      /** After a failed send, requests are answered 503 for this long (ms), doubling up to `maxUnavailableMs`. */
      unavailableMs: z.number().int().positive().default(1_000),
      maxUnavailableMs: z.number().int().positive().default(30_000),
    })
    .prefault({}),
  topics: z
    .strictObject({
      /** Normalized events, keyed by session, else principal, else server. */
      events: z.string().min(1).default(TOPICS.events),
      /** What parsed as OTLP but could not be normalized, with the reason in a header. */
      deadLetter: z.string().min(1).default(TOPICS.eventsDeadLetter),
      /** Partitions created for the events topic when it does not exist. */
      eventPartitions: z.number().int().positive().default(6),
    })
    .prefault({}),
  /** Also consume what a stock OpenTelemetry Collector's Kafka exporter writes (encoding `otlp_proto`). */
  kafkaSource: z
    .strictObject({
      groupId: z.string().min(1).default('mcpwatch-collector'),
      spansTopic: z.string().min(1).default(TOPICS.otlpSpans),
      logsTopic: z.string().min(1).default(TOPICS.otlpLogs),
    })
    .optional(),
  /** How long `close()` waits for accepted requests to be acknowledged (ms). */
  shutdownTimeoutMs: z.number().int().positive().default(15_000),
});

export type CollectorConfig = z.infer<typeof CollectorConfig>;
export type CollectorConfigInput = z.input<typeof CollectorConfig>;

/** Throws `CONFIG_INVALID` naming each bad key and what was expected. */
export function parseCollectorConfig(input: unknown): CollectorConfig {
  const result = CollectorConfig.safeParse(input);
  if (result.success) return result.data;
  throw new McpwatchError(
    'CONFIG_INVALID',
    `Invalid collector configuration: ${describeIssues(issuesOf(result.error))}`,
  );
}
