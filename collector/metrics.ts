/** The collector's Prometheus metrics, on a registry of its own so that two collectors in one process do not clash. */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export type Signal = 'span' | 'log';

export interface CollectorMetrics {
  registry: Registry;
  /** Spans and log records decoded from accepted requests. */
  received: Counter<'signal' | 'source'>;
  /** Events acknowledged by the log in the events topic. */
  produced: Counter<'kind'>;
  /** Requests (or Kafka records) refused, by reason (`malformed`, `too-large`, `buffer-full`, ...). */
  rejected: Counter<'reason'>;
  /** Records acknowledged in the dead-letter topic. */
  deadLettered: Counter<'signal'>;
  /** Records dropped on purpose (not MCP telemetry, or carried by another record); `intentional` in vector terms. */
  skipped: Counter<'signal' | 'reason'>;
  /** Values nested deeper than the limit and replaced by a marker while decoding. */
  flattened: Counter<'signal'>;
  /** Records accepted into the buffer and not yet acknowledged. */
  bufferDepth: Gauge;
  produceSeconds: Histogram;
}

export function createCollectorMetrics(): CollectorMetrics {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    received: new Counter({
      name: 'mcpwatch_collector_received_records_total',
      help: 'OTLP spans and log records decoded.',
      labelNames: ['signal', 'source'],
      registers,
    }),
    produced: new Counter({
      name: 'mcpwatch_collector_produced_events_total',
      help: 'McpEvents acknowledged by the log.',
      labelNames: ['kind'],
      registers,
    }),
    rejected: new Counter({
      name: 'mcpwatch_collector_rejected_total',
      help: 'Requests or records refused, by reason.',
      labelNames: ['reason'],
      registers,
    }),
    deadLettered: new Counter({
      name: 'mcpwatch_collector_dead_lettered_total',
      help: 'Records written to the dead-letter topic.',
      labelNames: ['signal'],
      registers,
    }),
    skipped: new Counter({
      name: 'mcpwatch_collector_skipped_records_total',
      help: 'Records intentionally not turned into events, by reason.',
      labelNames: ['signal', 'reason'],
      registers,
    }),
    flattened: new Counter({
      name: 'mcpwatch_collector_flattened_values_total',
      help: 'Values nested deeper than the limit, replaced by a marker while decoding.',
      labelNames: ['signal'],
      registers,
    }),
    bufferDepth: new Gauge({
      name: 'mcpwatch_collector_buffer_records',
      help: 'Records waiting for acknowledgement.',
      registers,
    }),
    produceSeconds: new Histogram({
      name: 'mcpwatch_collector_produce_seconds',
      help: 'Time from handing a batch to the producer to its acknowledgement.',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
  };
}
