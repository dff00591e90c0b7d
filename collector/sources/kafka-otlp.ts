/**
 * Consumes what a stock OpenTelemetry Collector's Kafka exporter writes with `encoding: otlp_proto`: each
 * record of `otlp_spans` is an `ExportTraceServiceRequest`, each of `otlp_logs` an `ExportLogsServiceRequest`.
 * Records are normalized like OTLP/HTTP exports; a record that does not decode is dead-lettered unchanged.
 * Offsets are committed only after the batch's events and dead letters are acknowledged.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { isMcpwatchError } from '../../contracts/errors.ts';
import { deadLetter } from '../../transport/dead-letter.ts';
import type { Consumer, Producer, RecordBatch, Transport } from '../../transport/types.ts';
import type { CollectorConfig } from '../config.ts';
import type { CollectorMetrics } from '../metrics.ts';
import { decodeLogs, decodeTraces, type DecodeLimits } from '../otlp/decode.ts';
import type { Delivery, EventProducer } from '../sinks/event-producer.ts';
import { normalizeLogs, normalizeTraces, type DeadLetter, type NormalizedBatch } from '../transforms/normalize.ts';

export interface KafkaOtlpSourceOptions {
  transport: Transport;
  producer: EventProducer;
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

  const onBatch = async (batch: RecordBatch): Promise<void> => {
    const spans = batch.topic === options.spansTopic;
    const signal = spans ? 'span' : 'log';
    const events: Delivery['events'][number][] = [];
    const deadLetters: DeadLetter[] = [];
    for (const record of batch.records) {
      let normalized: NormalizedBatch;
      try {
        if (spans) {
          const traces = decodeTraces(record.value, 'protobuf', source.limits);
          metrics.received.inc({ signal, source: 'kafka-otlp' }, traces.recordCount);
          normalized = normalizeTraces(traces);
        } else {
          const logs = decodeLogs(record.value, 'protobuf', source.limits);
          metrics.received.inc({ signal, source: 'kafka-otlp' }, logs.recordCount);
          normalized = normalizeLogs(logs);
        }
      } catch (error) {
        if (!isMcpwatchError(error, 'INPUT_INVALID') && !isMcpwatchError(error, 'LIMIT_EXCEEDED')) throw error;
        await deadLetter(source.deadLetterProducer, source.deadLetterTopic, record, 'collector', error.message);
        metrics.rejected.inc({ reason: 'kafka-record-undecodable' });
        metrics.deadLettered.inc({ signal });
        continue;
      }
      events.push(...normalized.events);
      deadLetters.push(...normalized.deadLetters);
      for (const [reason, count] of Object.entries(normalized.skipped)) metrics.skipped.inc({ signal, reason }, count);
    }
    await deliverPatiently({ events, deadLetters });
    const last = batch.records.at(-1);
    if (last !== undefined) {
      await consumer.commit([
        { topic: batch.topic, partition: batch.partition, offset: String(BigInt(last.offset) + 1n) },
      ]);
    }
  };

  /** Unlike an HTTP client, a Kafka source cannot be told to come back later: it waits and tries again. */
  const deliverPatiently = async (delivery: Delivery): Promise<void> => {
    for (;;) {
      try {
        return await source.producer.deliver(delivery);
      } catch (error) {
        if (closing || !isMcpwatchError(error) || !error.retriable) throw error;
        logger.warn({ err: error }, 'Delivery refused; the Kafka source retries.');
        await sleep(source.producer.retryAfterSeconds * 1000);
      }
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
      await consumer.close();
      await running;
    },
  };
}
