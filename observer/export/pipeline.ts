import { context, diag, propagation, trace } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
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
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { RESOURCE_ATTRIBUTES } from '../../contracts/signals.ts';
import { RedactingLogRecordExporter, RedactingSpanExporter } from './redact.ts';
import { INSTRUMENTATION_NAME, instrumentationConfig, knownSecrets } from '../telemetry.ts';

export interface TelemetryPipeline {
  /** Exports what is buffered and stops; later telemetry is dropped by the OTel SDK. */
  shutdown(): Promise<void>;
  forceFlush(): Promise<void>;
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
  const tracerProvider = new BasicTracerProvider({
    resource,
    spanProcessors: [
      new BatchSpanProcessor(new RedactingSpanExporter(new OTLPTraceExporter(), knownSecrets, INSTRUMENTATION_NAME)),
    ],
  });
  // Audit events are log records: no trace sampler applies to them.
  const loggerProvider = new LoggerProvider({
    resource,
    processors: [
      new BatchLogRecordProcessor({
        exporter: new RedactingLogRecordExporter(new OTLPLogExporter(), knownSecrets, INSTRUMENTATION_NAME),
      }),
    ],
  });
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
