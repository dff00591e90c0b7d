/**
 * A local OTLP/HTTP receiver for tests and benchmarks: records every raw request body (so tests can scan the
 * exact bytes that left the process) and decodes OTLP protobuf logs and traces with a subset of the OTLP schema.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import protobuf from 'protobufjs';

const OTLP_SUBSET = `
syntax = "proto3";
package otlp;
message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7; } }
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope { string name = 1; string version = 2; }
message Resource { repeated KeyValue attributes = 1; }
message LogRecord { fixed64 time_unix_nano = 1; fixed64 observed_time_unix_nano = 11; int32 severity_number = 2; string severity_text = 3; AnyValue body = 5; repeated KeyValue attributes = 6; fixed32 flags = 8; bytes trace_id = 9; bytes span_id = 10; string event_name = 12; }
message ScopeLogs { InstrumentationScope scope = 1; repeated LogRecord log_records = 2; }
message ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2; }
message ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
message Status { string message = 2; int32 code = 3; }
message Span { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4; string name = 5; int32 kind = 6; fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8; repeated KeyValue attributes = 9; Status status = 15; }
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
`;

const root = protobuf.parse(OTLP_SUBSET).root;
const LogsRequest = root.lookupType('otlp.ExportLogsServiceRequest');
const TraceRequest = root.lookupType('otlp.ExportTraceServiceRequest');

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface AnyValueMessage {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | { toNumber(): number };
  doubleValue?: number;
  arrayValue?: { values?: AnyValueMessage[] };
  kvlistValue?: { values?: KeyValueMessage[] };
  bytesValue?: Uint8Array;
}
interface KeyValueMessage {
  key: string;
  value?: AnyValueMessage;
}

export function anyValueToJson(value: AnyValueMessage | undefined): Json {
  if (value === undefined) return null;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined)
    return typeof value.intValue === 'number' ? value.intValue : value.intValue.toNumber();
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(anyValueToJson);
  if (value.kvlistValue !== undefined) return attributesToJson(value.kvlistValue.values ?? []);
  if (value.bytesValue !== undefined) return Buffer.from(value.bytesValue).toString('base64');
  return null;
}

export function attributesToJson(attributes: readonly KeyValueMessage[]): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const { key, value } of attributes) out[key] = anyValueToJson(value);
  return out;
}

export interface ReceivedLogRecord {
  resource: Record<string, Json>;
  scope: { name: string; version: string };
  /** Nanoseconds since the epoch, as decimal text (beyond a double's integers). */
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityNumber: number;
  severityText: string;
  attributes: Record<string, Json>;
  eventName: string;
  body: Json;
  flags: number;
  traceId: string;
  spanId: string;
}

export interface ReceivedSpan {
  resource: Record<string, Json>;
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  attributes: Record<string, Json>;
  status: { code: number; message: string };
}

/** A fixed64 as decimal text: protobufjs decodes it as a number or a `Long`. */
const decimal = (value: unknown): string =>
  typeof value === 'number' ? String(value) : ((value as { toString(): string } | undefined)?.toString() ?? '0');
const hex = (bytes: Uint8Array | undefined): string => Buffer.from(bytes ?? []).toString('hex');

export class OtlpReceiver {
  /** Every request body as received, by path, in arrival order. */
  readonly bodies: { path: string; contentType: string; body: Buffer }[] = [];
  readonly #server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      this.bodies.push({
        path: request.url ?? '',
        contentType: request.headers['content-type'] ?? '',
        body: Buffer.concat(chunks),
      });
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** All received bytes, for scanning: every export body concatenated. */
  allBytes(): Buffer {
    return Buffer.concat(this.bodies.map((entry) => entry.body));
  }

  logRecords(): ReceivedLogRecord[] {
    const out: ReceivedLogRecord[] = [];
    for (const { body } of this.bodies.filter((entry) => entry.path === '/v1/logs')) {
      const request = LogsRequest.toObject(LogsRequest.decode(body), { defaults: false }) as {
        resourceLogs?: {
          resource?: { attributes?: KeyValueMessage[] };
          scopeLogs?: {
            scope?: { name?: string; version?: string };
            logRecords?: (Record<string, unknown> & { attributes?: KeyValueMessage[]; body?: AnyValueMessage })[];
          }[];
        }[];
      };
      for (const resourceLogs of request.resourceLogs ?? []) {
        const resource = attributesToJson(resourceLogs.resource?.attributes ?? []);
        for (const scope of resourceLogs.scopeLogs ?? []) {
          for (const record of scope.logRecords ?? []) {
            out.push({
              resource,
              scope: { name: scope.scope?.name ?? '', version: scope.scope?.version ?? '' },
              timeUnixNano: decimal(record['timeUnixNano']),
              observedTimeUnixNano: decimal(record['observedTimeUnixNano']),
              severityNumber: (record['severityNumber'] as number | undefined) ?? 0,
              severityText: (record['severityText'] as string | undefined) ?? '',
              attributes: attributesToJson(record.attributes ?? []),
              eventName: (record['eventName'] as string | undefined) ?? '',
              body: anyValueToJson(record.body),
              flags: (record['flags'] as number | undefined) ?? 0,
              traceId: hex(record['traceId'] as Uint8Array | undefined),
              spanId: hex(record['spanId'] as Uint8Array | undefined),
            });
          }
        }
      }
    }
    return out;
  }

  spans(): ReceivedSpan[] {
    const out: ReceivedSpan[] = [];
    for (const { body } of this.bodies.filter((entry) => entry.path === '/v1/traces')) {
      const request = TraceRequest.toObject(TraceRequest.decode(body), { defaults: false }) as {
        resourceSpans?: {
          resource?: { attributes?: KeyValueMessage[] };
          scopeSpans?: { spans?: (Record<string, unknown> & { attributes?: KeyValueMessage[] })[] }[];
        }[];
      };
      for (const resourceSpans of request.resourceSpans ?? []) {
        const resource = attributesToJson(resourceSpans.resource?.attributes ?? []);
        for (const scope of resourceSpans.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            const status = (span['status'] as { code?: number; message?: string } | undefined) ?? {};
            out.push({
              resource,
              name: span['name'] as string,
              kind: (span['kind'] as number | undefined) ?? 0,
              traceId: hex(span['traceId'] as Uint8Array),
              spanId: hex(span['spanId'] as Uint8Array),
              parentSpanId: hex(span['parentSpanId'] as Uint8Array | undefined),
              attributes: attributesToJson(span.attributes ?? []),
              status: { code: status.code ?? 0, message: status.message ?? '' },
            });
          }
        }
      }
    }
    return out;
  }
}
