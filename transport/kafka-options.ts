/**
 * Options of the Kafka transport, apart from kafkajs so that config loading and `serve` on the embedded log
 * never load a Kafka client.
 */
import { z } from 'zod';
import { formatPath } from '../contracts/parse.ts';
import { McpwatchError } from '../contracts/errors.ts';

const positiveMs = z.int().positive();

const KafkaSaslOptions = z.discriminatedUnion('mechanism', [
  z.strictObject({ mechanism: z.literal('plain'), username: z.string(), password: z.string() }),
  z.strictObject({ mechanism: z.literal('scram-sha-256'), username: z.string(), password: z.string() }),
  z.strictObject({ mechanism: z.literal('scram-sha-512'), username: z.string(), password: z.string() }),
]);

export type KafkaSaslOptions = z.infer<typeof KafkaSaslOptions>;

export const KafkaTransportOptions = z.strictObject({
  /** `host:port` of at least one broker. */
  brokers: z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port')).min(1),
  clientId: z.string().min(1).default('mcpwatch'),
  /** `true` for TLS with the system CAs, or PEM material; omitted means plaintext. */
  ssl: z
    .union([
      z.boolean(),
      z.strictObject({
        ca: z.string().optional(),
        cert: z.string().optional(),
        key: z.string().optional(),
        servername: z.string().optional(),
        rejectUnauthorized: z.boolean().default(true),
      }),
    ])
    .optional(),
  sasl: KafkaSaslOptions.optional(),
  connectionTimeoutMs: positiveMs.default(3000),
  requestTimeoutMs: positiveMs.default(30_000),
  /** Client-wide retry of retriable broker errors, with exponential backoff. */
  retry: z
    .strictObject({
      retries: z.int().min(0).default(8),
      initialRetryTimeMs: positiveMs.default(100),
      maxRetryTimeMs: positiveMs.default(30_000),
    })
    .prefault({}),
  /** For topics `ensureTopics` creates; -1 takes the broker's default. */
  replicationFactor: z.int().min(-1).default(-1),
  producer: z
    .strictObject({
      /** How long the leader waits for the in-sync replicas before failing a send. */
      ackTimeoutMs: positiveMs.default(30_000),
    })
    .prefault({}),
  consumer: z
    .strictObject({
      /** The group drops a member that sent no heartbeat for this long (broker bounds apply). */
      sessionTimeoutMs: positiveMs.default(30_000),
      /** Upper bound for one rebalance, including `onRevoked`. */
      rebalanceTimeoutMs: positiveMs.default(60_000),
      heartbeatIntervalMs: positiveMs.default(3000),
      /** A fetch waits at most this long for data; it also bounds how late an idle member sees a rebalance. */
      maxWaitTimeMs: positiveMs.default(500),
      maxBytesPerPartition: z.int().positive().default(1_048_576),
      maxBytes: z.int().positive().default(10_485_760),
    })
    .refine((consumer) => consumer.heartbeatIntervalMs < consumer.sessionTimeoutMs, {
      message: 'heartbeatIntervalMs must be below sessionTimeoutMs',
      path: ['heartbeatIntervalMs'],
    })
    .prefault({}),
});
export type KafkaTransportOptions = z.infer<typeof KafkaTransportOptions>;
export type KafkaTransportOptionsInput = z.input<typeof KafkaTransportOptions>;

/** Validates once; the error names the bad option, e.g. `kafka.consumer.sessionTimeoutMs`. */
export function parseKafkaTransportOptions(input: unknown): KafkaTransportOptions {
  const result = KafkaTransportOptions.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map(
    (issue) => `${issue.path.length === 0 ? 'kafka' : `kafka.${formatPath(issue.path)}`}: ${issue.message}`,
  );
  throw new McpwatchError('CONFIG_INVALID', `Invalid Kafka transport options: ${issues.join('; ')}`);
}
