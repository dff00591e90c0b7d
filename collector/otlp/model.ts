/**
 * One internal shape for OTLP traces and logs, whichever encoding they arrived in. Attribute values are plain
 * JSON-ready values: `intValue` becomes a number when it is a safe integer and a decimal string otherwise,
 * `bytesValue` becomes base64 text, `kvlistValue` a map and `arrayValue` an array. Ids are lowercase hex, empty
 * when absent. Timestamps stay nanoseconds since the epoch as `bigint`.
 */

export type AttributeValue = string | boolean | number | null | AttributeValue[] | AttributeMap;

/** A null-prototype map, so that a `__proto__` key is a key and nothing more. */
export interface AttributeMap {
  [key: string]: AttributeValue;
}

export interface OtlpScope {
  name: string;
  version: string;
  attributes: AttributeMap;
}

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** SpanKind: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: AttributeMap;
  /** StatusCode: 0 unset, 1 ok, 2 error. */
  statusCode: number;
  statusMessage: string;
}

export interface OtlpLogRecord {
  timeUnixNano: bigint;
  observedTimeUnixNano: bigint;
  severityNumber: number;
  /** The `event_name` field (OTLP 1.5+); older SDKs carry it as the `event.name` attribute instead. */
  eventName: string;
  body: AttributeValue | undefined;
  attributes: AttributeMap;
  traceId: string;
  spanId: string;
}

export interface OtlpScopeRecords<T> {
  scope: OtlpScope;
  records: T[];
}

export interface OtlpResourceRecords<T> {
  resource: AttributeMap;
  scopes: OtlpScopeRecords<T>[];
}

/** A record (or a resource or scope with its records) that broke a per-record limit: dead-lettered alone. */
export interface RejectedRecord {
  /** What was rejected: the record, or the resource or scope entry that holds records. */
  entry: 'record' | 'scope' | 'resource';
  /** Where and why, e.g. `resourceSpans[0].scopeSpans[1].spans[7].attributes: 300 key-values exceed ...`. */
  reason: string;
  /** Its bytes, base64, cut to a bound (protobuf), or nothing (JSON: the request's text is not kept). */
  excerpt: string;
  /** Bytes of the entry on the wire, when known. */
  bytes: number;
}

export interface OtlpExport<T> {
  resources: OtlpResourceRecords<T>[];
  /** Spans or log records decoded in the whole request (rejected ones not included). */
  recordCount: number;
  /** Entries that broke a per-record limit; the rest of the request is decoded as usual. */
  rejected: RejectedRecord[];
  /** Values nested deeper than the limit and replaced by `FLATTENED_VALUE_MARKER`. */
  flattenedValues: number;
}

export type OtlpTraces = OtlpExport<OtlpSpan>;
export type OtlpLogs = OtlpExport<OtlpLogRecord>;

export function emptyAttributeMap(): AttributeMap {
  return Object.create(null) as AttributeMap;
}
