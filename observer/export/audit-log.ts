import { randomUUID } from 'node:crypto';
import { context as contextApi, isSpanContextValid, trace } from '@opentelemetry/api';
import type { Context, HrTime, SpanContext } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import type { AnyValueMap, LoggerProvider } from '@opentelemetry/api-logs';
import { timeInputToHrTime } from '@opentelemetry/core';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { LogRecordProcessor, ReadableLogRecord, SdkLogRecord } from '@opentelemetry/sdk-logs';
import { ATTRIBUTES } from '../../contracts/signals.ts';
import { epochMsOf } from '../event-time.ts';
import type { ServerRef } from '../types.ts';

/**
 * mcpwatch's own audit records on their way into its pipeline's batch processor, past the OTel log SDK's
 * per-record work (its enabled checks, attribute validation and copies, time conversion). The record keeps
 * references to what the observer built and works out the rest when the exporter reads it, in the batch:
 * on the wire it is what `Logger.emit` would have produced with the same arguments.
 */
export class AuditLog {
  readonly instrumentationScope: InstrumentationScope;

  constructor(
    readonly resource: Resource,
    scope: { name: string; version: string },
    private readonly processor: LogRecordProcessor,
  ) {
    this.instrumentationScope = { name: scope.name, version: scope.version };
  }

  /** `body` is exported as it is: it must be scrubbed and never change afterwards. `time` is the event's. */
  emit(body: AnyValueMap, eventName: string, time: string, server: ServerRef, context: Context | undefined): void {
    const record = new AuditLogRecord(
      this,
      body,
      eventName,
      time,
      server,
      trace.getSpanContext(context ?? contextApi.active()),
    );
    // The processor holds records until export and reads them only then (they are never written).
    this.processor.onEmit(record as unknown as SdkLogRecord);
  }
}

/**
 * Plain fields, no `#private` ones: the export filter may hand on `Object.create(record, …)` with the body or
 * attributes replaced, and the getters then run on that object.
 */
class AuditLogRecord implements Omit<ReadableLogRecord, 'spanContext'> {
  readonly observedMs = Date.now();
  private madeAttributes: ReadableLogRecord['attributes'] | undefined = undefined;
  private spanContextChecked = false;

  constructor(
    readonly log: AuditLog,
    readonly body: AnyValueMap,
    readonly eventName: string,
    readonly time: string,
    readonly server: ServerRef,
    private activeSpanContext: SpanContext | undefined,
  ) {}

  get resource(): Resource {
    return this.log.resource;
  }
  get instrumentationScope(): InstrumentationScope {
    return this.log.instrumentationScope;
  }
  get hrTime(): HrTime {
    return timeInputToHrTime(epochMsOf(this.time));
  }
  get hrTimeObserved(): HrTime {
    return timeInputToHrTime(this.observedMs);
  }
  get severityNumber(): SeverityNumber {
    return SeverityNumber.INFO;
  }
  get severityText(): string {
    return 'INFO';
  }
  get droppedAttributesCount(): number {
    return 0;
  }
  /** Only a valid span context travels, as in the SDK's log record. */
  get spanContext(): SpanContext | undefined {
    if (!this.spanContextChecked) {
      this.spanContextChecked = true;
      if (this.activeSpanContext !== undefined && !isSpanContextValid(this.activeSpanContext))
        this.activeSpanContext = undefined;
    }
    return this.activeSpanContext;
  }
  /** Made on first read (the exporter's), then kept: the event id must not change between reads. */
  get attributes(): ReadableLogRecord['attributes'] {
    this.madeAttributes ??= auditRecordAttributes(this.eventName, this.server);
    return this.madeAttributes;
  }
}

/** The attributes of an audit record (see `contracts/signals.ts`), with a fresh event id. */
export function auditRecordAttributes(eventName: string, server: ServerRef): Record<string, string> {
  const attributes: Record<string, string> = {
    'event.name': eventName,
    [ATTRIBUTES.eventId]: randomUUID(),
    [ATTRIBUTES.serverName]: server.name,
  };
  if (server.version !== undefined) attributes[ATTRIBUTES.serverVersion] = server.version;
  return attributes;
}

const auditLogs = new WeakMap<LoggerProvider, AuditLog>();

/** Audit events emitted through `provider`'s loggers may take `log` instead (mcpwatch's own pipeline does so). */
export function registerAuditLog(provider: LoggerProvider, log: AuditLog): void {
  auditLogs.set(provider, log);
}

/** The audit log behind `provider`, if it is mcpwatch's own pipeline's; otherwise its loggers are used. */
export function auditLogOf(provider: LoggerProvider): AuditLog | undefined {
  return auditLogs.get(provider);
}
