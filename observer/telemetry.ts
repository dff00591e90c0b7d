import { createNoopMeter, diag, metrics, trace, ValueType } from '@opentelemetry/api';
import type { Context, Counter, Histogram, MeterProvider, Tracer, TracerProvider } from '@opentelemetry/api';
import { logs, SeverityNumber } from '@opentelemetry/api-logs';
import type { AnyValueMap, Logger, LoggerProvider } from '@opentelemetry/api-logs';
import { auditEventName } from '../contracts/signals.ts';
import { loadInstrumentationConfig } from './config.ts';
import { epochMsOf } from './event-time.ts';
import type { InstrumentationConfig } from './config.ts';
import { Keyring } from './identity.ts';
import type { TelemetryProviders } from './telemetry-providers.ts';
import type { AuditEvent, ServerRef } from './types.ts';
import { auditLogOf, auditRecordAttributes } from './export/audit-log.ts';
import type { AuditLog } from './export/audit-log.ts';
import { KnownSecrets, scrubValue } from './export/redact.ts';
import {
  DURATION_BUCKETS_SECONDS,
  METRIC_MCP_SERVER_OPERATION_DURATION,
  METRIC_MCP_SERVER_SESSION_DURATION,
} from './semconv.ts';

export const INSTRUMENTATION_NAME = 'mcpwatch';
export const INSTRUMENTATION_VERSION = '0.2.0';

/** Process-wide: the export filter and every hook must agree on which raw secrets exist. */
export const knownSecrets = new KnownSecrets();

let processConfig: InstrumentationConfig | undefined;
let processKeyring: Keyring | undefined;

/** Validates the `MCPWATCH_*` variables once per process; throws `CONFIG_INVALID` naming the key. */
export function instrumentationConfig(): InstrumentationConfig {
  processConfig ??= loadInstrumentationConfig();
  return processConfig;
}

export function keyring(): Keyring {
  processKeyring ??= new Keyring(instrumentationConfig().MCPWATCH_HMAC_KEY);
  return processKeyring;
}

/** The OTel instruments of one observed server (the global providers unless `instrument()` was given others). */
export class Telemetry {
  readonly config = instrumentationConfig();
  readonly keyring = keyring();
  readonly secrets = knownSecrets;
  readonly tracer: Tracer;
  /** The MCP duration histograms; undefined when no meter provider is registered (nothing would be recorded). */
  readonly operationDuration: Histogram | undefined;
  readonly sessionDuration: Histogram | undefined;
  /** Requests not followed (a bound was reached) or hook failures: counted, never silent. */
  readonly untracked: Counter;
  readonly #logger: Logger;
  /** Set when the logger provider is mcpwatch's own pipeline's: audit records then skip the log SDK's emit. */
  readonly #auditLog: AuditLog | undefined;

  constructor(providers: TelemetryProviders = {}) {
    const tracerProvider: TracerProvider = providers.tracerProvider ?? trace.getTracerProvider();
    const meterProvider: MeterProvider = providers.meterProvider ?? metrics.getMeterProvider();
    const loggerProvider: LoggerProvider = providers.loggerProvider ?? logs.getLoggerProvider();
    this.tracer = tracerProvider.getTracer(INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION);
    this.#logger = loggerProvider.getLogger(INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION);
    this.#auditLog = auditLogOf(loggerProvider);
    const meter = meterProvider.getMeter(INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION);
    const advice = { explicitBucketBoundaries: DURATION_BUCKETS_SECONDS };
    const operationDuration = meter.createHistogram(METRIC_MCP_SERVER_OPERATION_DURATION, {
      unit: 's',
      description: 'Duration of an MCP request as observed on the server.',
      valueType: ValueType.DOUBLE,
      advice,
    });
    // The API's no-op meter hands out one shared histogram: recording into it would only build attribute sets.
    const recorded = operationDuration !== createNoopMeter().createHistogram(METRIC_MCP_SERVER_OPERATION_DURATION);
    this.operationDuration = recorded ? operationDuration : undefined;
    this.sessionDuration = recorded
      ? meter.createHistogram(METRIC_MCP_SERVER_SESSION_DURATION, {
          unit: 's',
          description: 'Duration of an MCP session as observed on the server.',
          valueType: ValueType.DOUBLE,
          advice,
        })
      : undefined;
    this.untracked = meter.createCounter('mcpwatch.instrumentation.untracked', {
      description: 'Messages the instrumentation could not follow (bounds reached or hook failures), by reason.',
    });
  }

  /**
   * One audit event as an OTel log record (see `contracts/signals.ts` for the mapping), built directly from
   * the event: the builders emit plain data without `undefined` fields. A call's free text (arguments, result)
   * was scrubbed once when captured; the other kinds are rare and scrubbed whole here. The event is exported
   * as it is, by reference: it must not change after it is emitted.
   */
  emit(event: AuditEvent, server: ServerRef, context?: Context): void {
    const name = (eventNames[event.kind] ??= auditEventName(event.kind));
    const body = (event.kind === 'call' ? event : scrubValue(event, this.secrets)) as AnyValueMap;
    if (this.#auditLog !== undefined) {
      this.#auditLog.emit(body, name, event.time, server, context);
      return;
    }
    this.#logger.emit({
      eventName: name,
      timestamp: epochMsOf(event.time),
      severityNumber: SeverityNumber.INFO,
      severityText: 'INFO',
      body,
      attributes: auditRecordAttributes(name, server),
      ...(context === undefined ? {} : { context }),
    });
  }
}

/** `auditEventName` of each kind, made once rather than per event. */
const eventNames: Partial<Record<AuditEvent['kind'], string>> = {};

let defaultTelemetry: Telemetry | undefined;

export function globalTelemetry(): Telemetry {
  defaultTelemetry ??= new Telemetry();
  return defaultTelemetry;
}

/**
 * Runs one of our hooks so that it can never throw into the host: a failure is logged to the OTel diag logger
 * and counted, and the host's own work proceeds untouched.
 */
export function guard<T>(what: string, hook: () => T): T | undefined {
  try {
    return hook();
  } catch (error) {
    diag.error(`mcpwatch: ${what} failed; the server is unaffected.`, error);
    try {
      globalTelemetry().untracked.add(1, { reason: 'hook-failure' });
    } catch {
      // Counting failed too; the diag line above is the record.
    }
    return undefined;
  }
}
