/**
 * Consumes what a stock OpenTelemetry Collector's Kafka exporter writes with `encoding: otlp_proto`: each
 * record of `otlp_spans` is an `ExportTraceServiceRequest`, each of `otlp_logs` an `ExportLogsServiceRequest`.
 * Records are normalized like OTLP/HTTP exports; a record that does not decode is dead-lettered unchanged.
 * Offsets are committed only after the batch's events and dead letters are acknowledged.
 */
import type { Logger } from 'pino';
import { isMcpwatchError } from '../../contracts/errors.ts';
import { deadLetter } from '../../transport/dead-letter.ts';
import { retryPolicy } from '../../transport/retry.ts';
import type { Consumer, Producer, RecordBatch, Transport } from '../../transport/types.ts';
import type { CollectorConfig } from '../config.ts';
import type { CollectorMetrics } from '../metrics.ts';
import { decodeLogs, decodeTraces, type DecodeLimits } from '../otlp/decode.ts';
import type { OtlpLogs, OtlpTraces } from '../otlp/model.ts';
import type { IngestPipeline } from '../pipeline.ts';

export interface KafkaOtlpSourceOptions {
  transport: Transport;
  pipeline: IngestPipeline;
  /** For dead-lettering undecodable records unchanged. */
  deadLetterProducer: Producer;
  deadLetterTopic: string;
  options: NonNullable<CollectorConfig['kafkaSource']>;
  limits: DecodeLimits;
  metrics: CollectorMetrics;
  logger: Logger;
}

export interface KafkaOtlpSource {
  close(): Promise<void>;
}

export async function startKafkaOtlpSource(source: KafkaOtlpSourceOptions): Promise<KafkaOtlpSource> {
  const { options, metrics, logger } = source;
  let closing = false;
  const consumer: Consumer = await source.transport.consumer({
    groupId: options.groupId,
    topics: [options.spansTopic, options.logsTopic],
  });

  // Unlike an HTTP client, a Kafka source cannot be told to come back later: it waits and tries again.
  const abort = new AbortController();
  const retry = retryPolicy({ attempts: Infinity, baseDelayMs: 500, maxDelayMs: 30_000 });
  retry.onRetry(({ error, delayMs }) =>
    logger.warn({ err: error, delayMs }, 'Delivery refused; the Kafka source retries.'),
  );

  const onBatch = async (batch: RecordBatch): Promise<void> => {
    const spans = batch.topic === options.spansTopic;
    const traces: OtlpTraces[] = [];
    const logs: OtlpLogs[] = [];
    for (const record of batch.records) {
      try {
        if (spans) traces.push(await decodeTraces(record.value, 'protobuf', source.limits));
        else logs.push(await decodeLogs(record.value, 'protobuf', source.limits));
      } catch (error) {
        if (!isMcpwatchError(error, 'INPUT_INVALID') && !isMcpwatchError(error, 'LIMIT_EXCEEDED')) throw error;
        await deadLetter(source.deadLetterProducer, source.deadLetterTopic, record, 'collector', error.message);
        metrics.rejected.inc({ reason: 'kafka-record-undecodable' });
        metrics.deadLettered.inc({ signal: spans ? 'span' : 'log' });
      }
    }
    const submitted = spans
      ? { signal: 'span' as const, source: 'kafka-otlp' as const, exports: traces }
      : { signal: 'log' as const, source: 'kafka-otlp' as const, exports: logs };
    await source.pipeline.submit(submitted, { retry, signal: abort.signal });
    const last = batch.records.at(-1);
    if (last !== undefined) {
      await consumer.commit([
        { topic: batch.topic, partition: batch.partition, offset: String(BigInt(last.offset) + 1n) },
      ]);
    }
  };

  const running = consumer.run({ onBatch }).catch((error: unknown) => {
    if (!closing) logger.error({ err: error }, 'Kafka OTLP source stopped.');
  });
  logger.info(
    { topics: [options.spansTopic, options.logsTopic], groupId: options.groupId },
    'Kafka OTLP source started.',
  );
  return {
    close: async () => {
      closing = true;
      abort.abort();
      await consumer.close();
      await running;
    },
  };
}
