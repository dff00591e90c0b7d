/** What the collector's integration tests share: real OTel SDK exporters and reading back `mcp.events.v1`. */
import { randomUUID } from 'node:crypto';
import { SpanKind } from '@opentelemetry/api';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter as OTLPProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as OTLPJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Transport } from '../transport/types.ts';

export const quietLogger = { level: 'silent' } as const;

export interface McpTelemetry {
  /** One MCP server span as another instrumentation (OTel MCP semantic conventions) would emit it. */
  call(attributes: Record<string, string | number>): void;
  /** One mcpwatch audit event as a log record (`mcpwatch.<kind>`, body = the event fields). */
  audit(eventName: string, body: Record<string, unknown>, eventId?: string): string;
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

export function mcpTelemetry(
  url: string,
  encoding: 'protobuf' | 'json',
  headers: Record<string, string> = {},
): McpTelemetry {
  const resource = resourceFromAttributes({
    'service.name': 'weather-server',
    'service.version': '1.2.3',
    'service.instance.id': 'instance-1',
    'host.name': 'host-a',
  });
  const traceExporter =
    encoding === 'protobuf'
      ? new OTLPProtoTraceExporter({ url: `${url}/v1/traces`, headers })
      : new OTLPJsonTraceExporter({ url: `${url}/v1/traces`, headers });
  const tracerProvider = new BasicTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(traceExporter, { scheduledDelayMillis: 50, maxExportBatchSize: 64 })],
  });
  const loggerProvider = new LoggerProvider({
    resource,
    processors: [
      new BatchLogRecordProcessor({
        exporter: new OTLPLogExporter({ url: `${url}/v1/logs`, headers }),
        scheduledDelayMillis: 50,
        maxExportBatchSize: 64,
      }),
    ],
  });
  const tracer = tracerProvider.getTracer('some-mcp-proxy', '0.1.0');
  const logger = loggerProvider.getLogger('mcpwatch', '0.1.0');
  return {
    call(attributes) {
      const method = String(attributes['mcp.method.name'] ?? 'tools/call');
      tracer.startSpan(method, { kind: SpanKind.SERVER, attributes }).end();
    },
    audit(eventName, body, eventId = randomUUID()) {
      logger.emit({
        eventName,
        body: body as never,
        attributes: { 'mcpwatch.event.id': eventId, 'mcp.server.name': 'weather' },
      });
      return eventId;
    },
    async flush() {
      await Promise.all([tracerProvider.forceFlush(), loggerProvider.forceFlush()]);
    },
    async shutdown() {
      await Promise.all([tracerProvider.shutdown(), loggerProvider.shutdown()]);
    },
  };
}

export interface StoredRecord {
  key: string | null;
  value: unknown;
  headers: Record<string, string>;
}

/** Every record of every partition of `topic` up to its current end. */
export async function readTopic(transport: Transport, topic: string): Promise<StoredRecord[]> {
  const records: StoredRecord[] = [];
  const partitions = await transport.partitionCount(topic);
  for (let partition = 0; partition < partitions; partition++) {
    for await (const record of transport.readPartition(topic, partition)) {
      records.push({ key: record.key, value: JSON.parse(record.value.toString('utf8')), headers: record.headers });
    }
  }
  return records;
}

/** `actual` reduced to the keys `expected` names, recursively, so `deepEqual` checks a subset. */
export function projected(actual: unknown, expected: unknown): unknown {
  if (typeof expected !== 'object' || expected === null || Array.isArray(expected)) return actual;
  if (typeof actual !== 'object' || actual === null) return actual;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(expected)) {
    out[key] = projected((actual as Record<string, unknown>)[key], value);
  }
  return out;
}
