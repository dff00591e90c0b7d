/**
 * The message log mcpwatch runs on: the embedded in-process log (`mcpwatch serve`) or Kafka (`collector`,
 * `detectors`). `createTransport` loads kafkajs only when Kafka is asked for.
 */
import { z } from 'zod';
import { formatPath } from '../contracts/parse.ts';
import { McpwatchError } from '../contracts/errors.ts';
import { EmbeddedTransport, EmbeddedTransportOptions } from './embedded.ts';
import { KafkaTransportOptions } from './kafka-options.ts';
import type { KafkaTransportDependencies } from './kafka.ts';
import type { Transport } from './types.ts';

export const TransportConfig = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('embedded'),
    embedded: EmbeddedTransportOptions.prefault({}),
  }),
  z.strictObject({
    kind: z.literal('kafka'),
    kafka: KafkaTransportOptions,
  }),
]);
export type TransportConfig = z.infer<typeof TransportConfig>;
export type TransportConfigInput = z.input<typeof TransportConfig>;

export async function createTransport(
  input: TransportConfigInput,
  dependencies: KafkaTransportDependencies = {},
): Promise<Transport> {
  const result = TransportConfig.safeParse(input);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => `transport.${formatPath(issue.path)}: ${issue.message}`);
    throw new McpwatchError('CONFIG_INVALID', `Invalid transport config: ${issues.join('; ')}`);
  }
  const config = result.data;
  if (config.kind === 'embedded') return new EmbeddedTransport(config.embedded);
  const { KafkaTransport } = await import('./kafka.ts');
  return new KafkaTransport(config.kafka, dependencies);
}

export { deadLetter, type DeadLetterStage } from './dead-letter.ts';
export { EmbeddedTransport, type EmbeddedTransportOptionsInput } from './embedded.ts';
export { parseKafkaTransportOptions, type KafkaTransportOptionsInput } from './kafka-options.ts';
export type { KafkaTransport, KafkaTransportDependencies } from './kafka.ts';
export { partitionForKey } from './murmur2.ts';
export { HEADERS, TOPICS } from './topics.ts';
export type {
  Consumer,
  ConsumerHandlers,
  ConsumerOptions,
  Headers,
  IncomingRecord,
  OutgoingRecord,
  PartitionOffset,
  Producer,
  ProducerOptions,
  RecordBatch,
  TopicPartition,
  TopicSpec,
  Transport,
} from './types.ts';
