import { context, diag, propagation, trace } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExportResultCode, getNumberFromEnv, W3CTraceContextPropagator } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import {
  defaultResource,
  detectResources,
  envDetector,
  hostDetector,
  processDetector,
  resourceFromAttributes,
  serviceInstanceIdDetector,
} from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import type { BatchLogRecordProcessorOptions, LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { RESOURCE_ATTRIBUTES } from '../../contracts/signals.ts';
import { AuditLog, registerAuditLog } from './audit-log.ts';
import { RedactingLogRecordExporter, RedactingSpanExporter } from './redact.ts';
import { INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION, instrumentationConfig, knownSecrets } from '../telemetry.ts';

export interface TelemetryPipeline {
  /** Exports what is buffered and stops; later telemetry is dropped by the OTel SDK. */
  shutdown(): Promise<void>;
  forceFlush(): Promise<void>;
}

/**
 * An exporter loaded and built on its first export (seconds after start-up, by the batch processor): the OTLP
 * protobuf serializers and HTTP transport stay off the start-up path, in their own chunk of the bundle. The
 * exporter reads the standard `OTEL_EXPORTER_OTLP_*` variables when it is built.
 */
class LazyExporter<Item> {
  #inner:
    | Promise<{
        export(items: Item[], done: (result: ExportResult) => void): void;
        shutdown(): Promise<void>;
        forceFlush?(): Promise<void>;
      }>
    | undefined;

  constructor(
    private readonly load: () => Promise<{
      export(items: Item[], done: (result: ExportResult) => void): void;
      shutdown(): Promise<void>;
      forceFlush?(): Promise<void>;
    }>,
  ) {}

  export(items: Item[], done: (result: ExportResult) => void): void {
    this.#inner ??= this.load();
    this.#inner.then(
      (inner) => inner.export(items, done),
      (error: unknown) =>
        done({ code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) }),
    );
  }

  async shutdown(): Promise<void> {
    await (await this.#inner?.catch(() => undefined))?.shutdown();
  }

  async forceFlush(): Promise<void> {
    await (await this.#inner?.catch(() => undefined))?.forceFlush?.();
  }
}

const lazySpanExporter = (): SpanExporter =>
  new LazyExporter<ReadableSpan>(async () => {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
    return new OTLPTraceExporter();
  });

const lazyLogExporter = (): LogRecordExporter =>
  new LazyExporter<ReadableLogRecord>(async () => {
    const { OTLPLogExporter } = await import('@opentelemetry/exporter-logs-otlp-proto');
    return new OTLPLogExporter();
  });

/**
 * The standard `OTEL_BLRP_*` settings of the log batch processor, which the log SDK does not read itself (the
 * trace SDK reads `OTEL_BSP_*`).
 */
function logBatchSettings(): Omit<BatchLogRecordProcessorOptions, 'exporter'> {
  const settings: Omit<BatchLogRecordProcessorOptions, 'exporter'> = {};
  const maxExportBatchSize = getNumberFromEnv('OTEL_BLRP_MAX_EXPORT_BATCH_SIZE');
  const maxQueueSize = getNumberFromEnv('OTEL_BLRP_MAX_QUEUE_SIZE');
  const scheduledDelayMillis = getNumberFromEnv('OTEL_BLRP_SCHEDULE_DELAY');
  const exportTimeoutMillis = getNumberFromEnv('OTEL_BLRP_EXPORT_TIMEOUT');
  if (maxExportBatchSize !== undefined) settings.maxExportBatchSize = maxExportBatchSize;
  if (maxQueueSize !== undefined) settings.maxQueueSize = maxQueueSize;
  if (scheduledDelayMillis !== undefined) settings.scheduledDelayMillis = scheduledDelayMillis;
  if (exportTimeoutMillis !== undefined) settings.exportTimeoutMillis = exportTimeoutMillis;
  return settings;
}

/** How long a signal-triggered shutdown may take before the process is let go. */
const SHUTDOWN_TIMEOUT_MS = 3000;

/**
 * Tracer and logger providers exporting OTLP/HTTP protobuf to `OTEL_EXPORTER_OTLP_ENDPOINT` (the exporters
 * read the standard `OTEL_*` variables), behind the redaction filter, registered as the globals. When the
 * application already registered its own providers, those win and keep receiving our telemetry. Metrics
 * (the MCP duration histograms) go to the application's meter provider when it registered one: mcpwatch's
 * pipeline reads spans and audit events only, so it ships no metrics SDK of its own.
 */
export function startTelemetryPipeline(): TelemetryPipeline {
  const config = instrumentationConfig();
  const resource = defaultResource()
    .merge(detectResources({ detectors: [envDetector, hostDetector, processDetector, serviceInstanceIdDetector] }))
    .merge(
      resourceFromAttributes(
        config.MCPWATCH_RESOURCE === undefined
          ? {}
          : { [RESOURCE_ATTRIBUTES.serverResource]: config.MCPWATCH_RESOURCE },
      ),
    );
  // The sampler is the SDK's from `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG` (default parentbased_always_on).
  const tracerProvider = new BasicTracerProvider({
    resource,
    spanProcessors: [
      new BatchSpanProcessor(new RedactingSpanExporter(lazySpanExporter(), knownSecrets, INSTRUMENTATION_NAME)),
    ],
  });
  // Audit events are log records: no trace sampler applies to them.
  const logProcessor = new BatchLogRecordProcessor({
    exporter: new RedactingLogRecordExporter(lazyLogExporter(), knownSecrets, INSTRUMENTATION_NAME),
    ...logBatchSettings(),
  });
  const loggerProvider = new LoggerProvider({ resource, processors: [logProcessor] });
  // Our own audit events go straight into the same batch processor (the same queue bound, flushes and exporter).
  registerAuditLog(
    loggerProvider,
    new AuditLog(resource, { name: INSTRUMENTATION_NAME, version: INSTRUMENTATION_VERSION }, logProcessor),
  );
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const registered = {
    traces: trace.setGlobalTracerProvider(tracerProvider),
    logs: logs.setGlobalLoggerProvider(loggerProvider) === loggerProvider,
  };
  for (const [signal, ok] of Object.entries(registered)) {
    if (!ok)
      diag.warn(
        `mcpwatch: a global ${signal} provider was already registered; mcpwatch telemetry goes to it, without mcpwatch's redaction filter.`,
      );
  }
  const pipeline: TelemetryPipeline = {
    shutdown: async () => {
      await Promise.allSettled([tracerProvider.shutdown(), loggerProvider.shutdown()]);
    },
    forceFlush: async () => {
      await Promise.allSettled([tracerProvider.forceFlush(), loggerProvider.forceFlush()]);
    },
  };
  flushOnExit(pipeline);
  return pipeline;
}

/**
 * Flushes on natural exit and on SIGTERM/SIGINT. A signal is re-raised after the flush when no other listener
 * wants it, so the process ends exactly as it would have without us.
 */
function flushOnExit(pipeline: TelemetryPipeline): void {
  process.once('beforeExit', () => void pipeline.shutdown());
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    if (process.listenerCount(signal) > 0) continue;
    process.once(signal, () => {
      const timeout = new Promise((resolve) => setTimeout(resolve, SHUTDOWN_TIMEOUT_MS).unref());
      void Promise.race([pipeline.shutdown(), timeout]).finally(() => {
        if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
      });
    });
  }
}
