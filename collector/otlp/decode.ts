/**
 * Decodes OTLP/HTTP export requests (protobuf or JSON, per the OTLP specification) into the internal shape of
 * `model.ts`, with every limit applied while decoding, never after:
 *
 * - per request (`maxEntries`): resources, scopes, records, key-values, values and skipped unknown fields read
 *   so far; past it the request is refused (`LIMIT_EXCEEDED`) after reading at most that many, so a body that
 *   inflates to millions of empty messages costs milliseconds;
 * - per record (`maxAttributes`, `maxCollectionEntries`, `maxStringBytes`, malformed fields inside the record):
 *   that record (or resource/scope entry) is rejected alone and the decoder resumes after it;
 * - depth (`maxValueDepth`): a deeper value is replaced by `FLATTENED_VALUE_MARKER` and counted; the record
 *   is kept.
 *
 * Protobuf is read straight off the wire (`wire.ts`), attributes built in one pass into their final maps;
 * over-limit or unknown length-delimited fields are jumped over without being read. JSON is scanned once for
 * its size in values before `JSON.parse`, so the parse itself is bounded. Both decoders are generators that
 * stop every few thousand entries; `decodeTraces`/`decodeLogs` give the event loop a turn there, so one large
 * request never starves `/healthz` or the detectors of `mcpwatch serve`.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { McpwatchError } from '../../contracts/errors.ts';
import { formatPath } from '../../contracts/parse.ts';
import { FLATTENED_VALUE_MARKER } from '../../contracts/signals.ts';
import {
  emptyAttributeMap,
  type AttributeMap,
  type AttributeValue,
  type OtlpExport,
  type OtlpLogRecord,
  type OtlpLogs,
  type OtlpResourceRecords,
  type OtlpScope,
  type OtlpScopeRecords,
  type OtlpSpan,
  type OtlpTraces,
  type RejectedRecord,
} from './model.ts';
import { WIRE, WireError, WireReader } from './wire.ts';

export type OtlpEncoding = 'protobuf' | 'json';

export interface DecodeLimits {
  /** Attributes in one attribute list (resource, scope, span or log record); more rejects that entry. */
  maxAttributes: number;
  /** Nesting of `arrayValue`/`kvlistValue` inside one attribute or log body; deeper is flattened. */
  maxValueDepth: number;
  /** Entries in one `arrayValue` or `kvlistValue`; more rejects the record. */
  maxCollectionEntries: number;
  /** Bytes of one string or bytes value; more rejects the record. */
  maxStringBytes: number;
  /** Resources, scopes, records, key-values, values and unknown fields in one request; more refuses it. */
  maxEntries: number;
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = {
  maxAttributes: 256,
  maxValueDepth: 32,
  maxCollectionEntries: 8192,
  maxStringBytes: 1024 * 1024,
  maxEntries: 500_000,
};

/** Shared by entries without their own: read-only, so one object serves millions of empty messages. */
const NO_ATTRIBUTES: AttributeMap = Object.freeze(emptyAttributeMap());
const NO_SCOPE: OtlpScope = Object.freeze({ name: '', version: '', attributes: NO_ATTRIBUTES });

/** Entries decoded between two turns of the event loop. */
const SLICE_ENTRIES = 8192;
/** Bytes of a rejected protobuf entry kept in its dead letter. */
const MAX_EXCERPT_BYTES = 4096;

/** Throws `McpwatchError` `INPUT_INVALID` (malformed) or `LIMIT_EXCEEDED` with the path of the offending field. */
export async function decodeTraces(
  body: Uint8Array,
  encoding: OtlpEncoding,
  limits: DecodeLimits,
): Promise<OtlpTraces> {
  const decoder = encoding === 'protobuf' ? new ProtobufDecoder(body, limits) : new JsonDecoder(body, limits);
  return drive(decoder, decoder.traces());
}

export async function decodeLogs(body: Uint8Array, encoding: OtlpEncoding, limits: DecodeLimits): Promise<OtlpLogs> {
  const decoder = encoding === 'protobuf' ? new ProtobufDecoder(body, limits) : new JsonDecoder(body, limits);
  return drive(decoder, decoder.logs());
}

/** Runs a decoding generator to the end, yielding to the event loop whenever it pauses. */
async function drive<T>(decoder: Decoder, run: Generator<undefined, OtlpExport<T>>): Promise<OtlpExport<T>> {
  for (;;) {
    const step = run.next();
    if (step.done === true) return step.value;
    await yieldToEventLoop();
    decoder.resumed();
  }
}

/** A per-record failure: the record (or the resource/scope entry) is rejected, the request goes on. */
class RecordError extends Error {}

abstract class Decoder {
  protected readonly path: (string | number)[] = [];
  protected entries = 0;
  protected sliceEntries = 0;
  protected flattened = 0;
  protected readonly rejected: RejectedRecord[] = [];

  constructor(protected readonly limits: DecodeLimits) {}

  abstract traces(): Generator<undefined, OtlpTraces>;
  abstract logs(): Generator<undefined, OtlpLogs>;

  resumed(): void {
    this.sliceEntries = 0;
  }

  protected get sliceFull(): boolean {
    return this.sliceEntries >= SLICE_ENTRIES;
  }

  /** Counts one entry against the request's budget. */
  protected count(): void {
    this.sliceEntries++;
    if (++this.entries > this.limits.maxEntries) {
      throw new McpwatchError(
        'LIMIT_EXCEEDED',
        `${formatPath(this.path)}: the request holds more than ${this.limits.maxEntries} entries (resources, scopes, records, attributes and values)`,
      );
    }
  }

  protected flattenedValue(): string {
    this.flattened++;
    return FLATTENED_VALUE_MARKER;
  }

  protected recordError(message: string): never {
    throw new RecordError(`${formatPath(this.path)}: ${message}`);
  }

  /** Records a per-entry failure (anything else is rethrown) and unwinds the path to `depth`. */
  protected reject(
    entry: RejectedRecord['entry'],
    error: unknown,
    depth: number,
    excerpt: string,
    bytes: number,
  ): void {
    let reason: string;
    if (error instanceof RecordError) reason = error.message;
    else if (error instanceof WireError) reason = `${formatPath(this.path)}: malformed protobuf: ${error.message}`;
    else throw error;
    this.path.length = depth;
    this.rejected.push({ entry, reason, excerpt, bytes });
  }

  protected result<T>(resources: OtlpResourceRecords<T>[], recordCount: number): OtlpExport<T> {
    return { resources, recordCount, rejected: this.rejected, flattenedValues: this.flattened };
  }
}

/** The shape shared by spans and log records at the resource and scope levels. */
interface Levels {
  resourcesField: string;
  scopesField: string;
  recordsField: string;
}

const TRACE_LEVELS: Levels = { resourcesField: 'resourceSpans', scopesField: 'scopeSpans', recordsField: 'spans' };
const LOG_LEVELS: Levels = { resourcesField: 'resourceLogs', scopesField: 'scopeLogs', recordsField: 'logRecords' };

class ProtobufDecoder extends Decoder {
  private readonly reader: WireReader;

  constructor(body: Uint8Array, limits: DecodeLimits) {
    super(limits);
    const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    this.reader = new WireReader(buf, 0, buf.length);
  }

  *traces(): Generator<undefined, OtlpTraces> {
    return yield* this.request(TRACE_LEVELS, 'ExportTraceServiceRequest', (end) => this.span(end));
  }

  *logs(): Generator<undefined, OtlpLogs> {
    return yield* this.request(LOG_LEVELS, 'ExportLogsServiceRequest', (end) => this.logRecord(end));
  }

  /** Request → resources → scopes → records; a malformed structure above the records refuses the request. */
  private *request<T>(
    levels: Levels,
    typeName: string,
    record: (end: number) => T,
  ): Generator<undefined, OtlpExport<T>> {
    const r = this.reader;
    const resources: OtlpResourceRecords<T>[] = [];
    let recordCount = 0;
    let resourceIndex = 0;
    try {
      this.path.push(levels.resourcesField);
      while (!r.done) {
        const tag = r.varint();
        if (tag >>> 3 !== 1) {
          this.skipUnknown(tag);
          continue;
        }
        this.expectLen(tag);
        const resourceEnd = r.len();
        this.path.push(resourceIndex++);
        this.count();
        const entry: OtlpResourceRecords<T> = { resource: NO_ATTRIBUTES, scopes: [] };
        const resourceStart = r.pos;
        let resourceRecords = 0;
        let scopeIndex = 0;
        try {
          while (r.pos < resourceEnd) {
            const field = r.varint();
            if (field >>> 3 === 1 && (field & 7) === WIRE.len) {
              const end = r.len();
              this.path.push('resource');
              entry.resource = this.resource(end);
              this.path.pop();
            } else if (field >>> 3 === 2 && (field & 7) === WIRE.len) {
              const scopeEnd = r.len();
              this.path.push(levels.scopesField, scopeIndex++);
              resourceRecords += yield* this.scopeRecords(levels, scopeEnd, entry.scopes, record);
              this.path.length = 2;
            } else this.skipUnknown(field);
          }
          // An entry without records carries nothing: not kept, so millions of empty ones cost no memory.
          if (resourceRecords > 0) resources.push(entry);
          recordCount += resourceRecords;
        } catch (error) {
          this.reject('resource', error, 2, this.excerpt(resourceStart, resourceEnd), resourceEnd - resourceStart);
          r.pos = resourceEnd;
        }
        this.path.pop();
        if (this.sliceFull) yield;
      }
      this.path.pop();
    } catch (error) {
      if (error instanceof WireError) {
        throw new McpwatchError(
          'INPUT_INVALID',
          `malformed protobuf ${typeName}: ${formatPath(this.path)}: ${error.message}`,
        );
      }
      throw error;
    }
    return this.result(resources, recordCount);
  }

  private *scopeRecords<T>(
    levels: Levels,
    end: number,
    scopes: OtlpScopeRecords<T>[],
    record: (end: number) => T,
  ): Generator<undefined, number> {
    const r = this.reader;
    this.count();
    const entry: OtlpScopeRecords<T> = { scope: NO_SCOPE, records: [] };
    let decoded = 0;
    let index = 0;
    const depth = this.path.length;
    while (r.pos < end) {
      const field = r.varint();
      if (field >>> 3 === 1 && (field & 7) === WIRE.len) {
        const scopeEnd = r.len();
        const start = r.pos;
        try {
          this.path.push('scope');
          entry.scope = this.scope(scopeEnd);
          this.path.pop();
        } catch (error) {
          // Without its scope the records cannot be attributed: the whole entry goes.
          this.reject('scope', error, depth, this.excerpt(start, end), end - start);
          r.pos = end;
          return 0;
        }
      } else if (field >>> 3 === 2 && (field & 7) === WIRE.len) {
        const recordEnd = r.len();
        const start = r.pos;
        this.path.push(levels.recordsField, index++);
        try {
          this.count();
          entry.records.push(record(recordEnd));
          decoded++;
        } catch (error) {
          this.reject('record', error, depth + 2, this.excerpt(start, recordEnd), recordEnd - start);
        }
        r.pos = recordEnd;
        this.path.length = depth;
        if (this.sliceFull) yield;
      } else this.skipUnknown(field);
    }
    if (decoded > 0) scopes.push(entry);
    return decoded;
  }

  private resource(end: number): AttributeMap {
    const r = this.reader;
    const attributes = emptyAttributeMap();
    let count = 0;
    while (r.pos < end) {
      const field = r.varint();
      if (field >>> 3 === 1 && (field & 7) === WIRE.len) count = this.attribute(attributes, count, 'attributes');
      else this.skipUnknown(field);
    }
    return attributes;
  }

  private scope(end: number): OtlpScope {
    const r = this.reader;
    const scope: OtlpScope = { name: '', version: '', attributes: emptyAttributeMap() };
    let count = 0;
    while (r.pos < end) {
      const field = r.varint();
      switch (field) {
        case (1 << 3) | WIRE.len:
          scope.name = this.string('name');
          break;
        case (2 << 3) | WIRE.len:
          scope.version = this.string('version');
          break;
        case (3 << 3) | WIRE.len:
          count = this.attribute(scope.attributes, count, 'attributes');
          break;
        default:
          this.skipUnknown(field);
      }
    }
    return scope;
  }

  private span(end: number): OtlpSpan {
    const r = this.reader;
    const span: OtlpSpan = {
      traceId: '',
      spanId: '',
      parentSpanId: '',
      name: '',
      kind: 0,
      startTimeUnixNano: 0n,
      endTimeUnixNano: 0n,
      attributes: emptyAttributeMap(),
      statusCode: 0,
      statusMessage: '',
    };
    let count = 0;
    while (r.pos < end) {
      const field = r.varint();
      switch (field) {
        case (1 << 3) | WIRE.len:
          span.traceId = this.id('traceId', 16);
          break;
        case (2 << 3) | WIRE.len:
          span.spanId = this.id('spanId', 8);
          break;
        case (4 << 3) | WIRE.len:
          span.parentSpanId = this.id('parentSpanId', 8);
          break;
        case (5 << 3) | WIRE.len:
          span.name = this.string('name');
          break;
        case (6 << 3) | WIRE.varint:
          span.kind = r.int32();
          break;
        case (7 << 3) | WIRE.i64:
          span.startTimeUnixNano = r.fixed64();
          break;
        case (8 << 3) | WIRE.i64:
          span.endTimeUnixNano = r.fixed64();
          break;
        case (9 << 3) | WIRE.len:
          count = this.attribute(span.attributes, count, 'attributes');
          break;
        case (15 << 3) | WIRE.len: {
          const statusEnd = r.len();
          while (r.pos < statusEnd) {
            const statusField = r.varint();
            if (statusField === ((2 << 3) | WIRE.len)) span.statusMessage = this.string('status.message');
            else if (statusField === ((3 << 3) | WIRE.varint)) span.statusCode = r.int32();
            else this.skipUnknown(statusField);
          }
          break;
        }
        default:
          this.skipUnknown(field);
      }
    }
    return span;
  }

  private logRecord(end: number): OtlpLogRecord {
    const r = this.reader;
    const record: OtlpLogRecord = {
      timeUnixNano: 0n,
      observedTimeUnixNano: 0n,
      severityNumber: 0,
      eventName: '',
      body: undefined,
      attributes: emptyAttributeMap(),
      traceId: '',
      spanId: '',
    };
    let count = 0;
    while (r.pos < end) {
      const field = r.varint();
      switch (field) {
        case (1 << 3) | WIRE.i64:
          record.timeUnixNano = r.fixed64();
          break;
        case (11 << 3) | WIRE.i64:
          record.observedTimeUnixNano = r.fixed64();
          break;
        case (2 << 3) | WIRE.varint:
          record.severityNumber = r.int32();
          break;
        case (5 << 3) | WIRE.len: {
          const bodyEnd = r.len();
          this.path.push('body');
          record.body = this.anyValue(bodyEnd, 1);
          this.path.pop();
          break;
        }
        case (6 << 3) | WIRE.len:
          count = this.attribute(record.attributes, count, 'attributes');
          break;
        case (9 << 3) | WIRE.len:
          record.traceId = this.id('traceId', 16);
          break;
        case (10 << 3) | WIRE.len:
          record.spanId = this.id('spanId', 8);
          break;
        case (12 << 3) | WIRE.len:
          record.eventName = this.string('eventName');
          break;
        default:
          this.skipUnknown(field);
      }
    }
    return record;
  }

  /** One `KeyValue` of an attribute list into `map`; returns the list's new length. */
  private attribute(map: AttributeMap, count: number, listName: string): number {
    if (count >= this.limits.maxAttributes) {
      this.path.push(listName);
      this.recordError(
        `more than ${this.limits.maxAttributes} key-values exceed the limit of ${this.limits.maxAttributes}`,
      );
    }
    const end = this.reader.len();
    this.path.push(listName, count);
    this.keyValue(map, end, 1);
    this.path.length -= 2;
    return count + 1;
  }

  private keyValue(map: AttributeMap, end: number, depth: number): void {
    const r = this.reader;
    this.count();
    let key = '';
    let value: AttributeValue = null;
    while (r.pos < end) {
      const field = r.varint();
      if (field === ((1 << 3) | WIRE.len)) key = this.string('key');
      else if (field === ((2 << 3) | WIRE.len)) {
        const valueEnd = r.len();
        this.path.push('value');
        value = this.anyValue(valueEnd, depth);
        this.path.pop();
      } else this.skipUnknown(field);
    }
    map[key] = value;
  }

  private anyValue(end: number, depth: number): AttributeValue {
    const r = this.reader;
    this.count();
    if (depth > this.limits.maxValueDepth) {
      r.pos = end;
      return this.flattenedValue();
    }
    let value: AttributeValue = null;
    while (r.pos < end) {
      const field = r.varint();
      switch (field) {
        case (1 << 3) | WIRE.len:
          value = this.string('stringValue');
          break;
        case (2 << 3) | WIRE.varint:
          value = r.bool();
          break;
        case (3 << 3) | WIRE.varint:
          value = r.int64();
          break;
        case (4 << 3) | WIRE.i64:
          value = r.double();
          break;
        case (5 << 3) | WIRE.len:
          value = this.collection(r.len(), depth, 'arrayValue');
          break;
        case (6 << 3) | WIRE.len:
          value = this.collection(r.len(), depth, 'kvlistValue');
          break;
        case (7 << 3) | WIRE.len: {
          const bytesEnd = r.len();
          this.checkSize(bytesEnd - r.pos, 'bytesValue');
          value = r.buf.toString('base64', r.pos, bytesEnd);
          r.pos = bytesEnd;
          break;
        }
        default:
          this.skipUnknown(field);
      }
    }
    return value;
  }

  /** `ArrayValue` or `KeyValueList`: both are `repeated ... values = 1`. */
  private collection(end: number, depth: number, kind: 'arrayValue' | 'kvlistValue'): AttributeValue {
    const r = this.reader;
    const array: AttributeValue[] = [];
    const map = emptyAttributeMap();
    let entries = 0;
    this.path.push(kind);
    while (r.pos < end) {
      const field = r.varint();
      if (field !== ((1 << 3) | WIRE.len)) {
        this.skipUnknown(field);
        continue;
      }
      if (entries >= this.limits.maxCollectionEntries) {
        this.recordError(
          `more than ${this.limits.maxCollectionEntries} values exceed the limit of ${this.limits.maxCollectionEntries}`,
        );
      }
      const itemEnd = r.len();
      this.path.push(entries);
      if (kind === 'arrayValue') array.push(this.anyValue(itemEnd, depth + 1));
      else this.keyValue(map, itemEnd, depth + 1);
      this.path.pop();
      entries++;
    }
    this.path.pop();
    return kind === 'arrayValue' ? array : map;
  }

  private string(name: string): string {
    const r = this.reader;
    const end = r.len();
    this.checkSize(end - r.pos, name);
    try {
      return r.text(r.pos, end);
    } catch (error) {
      if (error instanceof WireError) {
        this.path.push(name);
        this.recordError(error.message);
      }
      throw error;
    } finally {
      r.pos = end;
    }
  }

  private checkSize(bytes: number, name: string): void {
    if (bytes > this.limits.maxStringBytes) {
      this.path.push(name);
      this.recordError(`${bytes} bytes exceed the limit of ${this.limits.maxStringBytes}`);
    }
  }

  private id(name: string, length: 16 | 8): string {
    const r = this.reader;
    const end = r.len();
    const size = end - r.pos;
    const start = r.pos;
    r.pos = end;
    if (size === 0) return '';
    if (size !== length) {
      this.path.push(name);
      this.recordError(`expected ${length} bytes, got ${size}`);
    }
    return r.buf.toString('hex', start, end);
  }

  private expectLen(tag: number): void {
    if ((tag & 7) !== WIRE.len) throw new WireError(`field ${tag >>> 3} has wire type ${tag & 7}, expected 2`);
  }

  private skipUnknown(tag: number): void {
    if (tag >>> 3 === 0) throw new WireError('field number 0');
    this.count();
    this.reader.skip(tag & 7);
  }

  private excerpt(start: number, end: number): string {
    return this.reader.buf.toString('base64', start, Math.min(end, start + MAX_EXCERPT_BYTES));
  }
}

type Wire = Record<string, unknown>;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const HEX_ID = { 16: /^[0-9a-fA-F]{32}$/, 8: /^[0-9a-fA-F]{16}$/ } as const;
const DECIMAL = /^-?\d{1,20}$/;
const NANOS = /^\d{1,20}$/;

/**
 * OTLP/JSON: field names are lowerCamelCase, ids hex, 64-bit integers decimal strings (or numbers), bytes
 * base64. `JSON.parse` builds the whole tree, so its size is bounded first by a linear scan that counts
 * values (`{`, `[` and separators outside strings) against the request budget.
 */
class JsonDecoder extends Decoder {
  private readonly request: Wire;

  constructor(body: Uint8Array, limits: DecodeLimits) {
    super(limits);
    let text: string;
    try {
      text = utf8.decode(body);
    } catch (error) {
      throw new McpwatchError('INPUT_INVALID', 'JSON body is not valid UTF-8', { cause: error });
    }
    // A KeyValue is about four JSON values (`{key, value: {stringValue}}` and its separator).
    const budget = 4 * limits.maxEntries;
    if (jsonValueCount(text, budget) > budget) {
      throw new McpwatchError(
        'LIMIT_EXCEEDED',
        `(root): the request holds more than ${limits.maxEntries} entries (resources, scopes, records, attributes and values)`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new McpwatchError('INPUT_INVALID', `malformed JSON: ${reason}`, { cause: error });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new McpwatchError('INPUT_INVALID', '(root): expected a JSON object');
    }
    this.request = parsed as Wire;
  }

  *traces(): Generator<undefined, OtlpTraces> {
    return yield* this.walk(TRACE_LEVELS, (wire) => this.span(wire));
  }

  *logs(): Generator<undefined, OtlpLogs> {
    return yield* this.walk(LOG_LEVELS, (wire) => this.logRecord(wire));
  }

  private *walk<T>(levels: Levels, record: (wire: Wire) => T): Generator<undefined, OtlpExport<T>> {
    const resources: OtlpResourceRecords<T>[] = [];
    let recordCount = 0;
    const resourceList = this.structural(() => this.list(this.request[levels.resourcesField]), levels.resourcesField);
    for (let r = 0; r < resourceList.length; r++) {
      this.path.push(levels.resourcesField, r);
      try {
        this.count();
        const resourceWire = this.object(resourceList[r]) ?? this.recordError('expected an object');
        const resource = this.attributesOf(this.field(resourceWire, 'resource', (value) => this.object(value)));
        const scopes: OtlpScopeRecords<T>[] = [];
        const scopeList = this.field(resourceWire, levels.scopesField, (value) => this.list(value));
        for (let s = 0; s < scopeList.length; s++) {
          this.path.push(levels.scopesField, s);
          try {
            this.count();
            const scopeWire = this.object(scopeList[s]) ?? this.recordError('expected an object');
            const scope = this.field(scopeWire, 'scope', (value) => this.scope(this.object(value)));
            const records: T[] = [];
            const recordList = this.field(scopeWire, levels.recordsField, (value) => this.list(value));
            for (let index = 0; index < recordList.length; index++) {
              this.path.push(levels.recordsField, index);
              try {
                this.count();
                records.push(record(this.object(recordList[index]) ?? this.recordError('expected an object')));
                recordCount++;
              } catch (error) {
                this.reject('record', error, 6, '', 0);
              }
              this.path.length = 4;
              if (this.sliceFull) yield;
            }
            scopes.push({ scope, records });
          } catch (error) {
            this.reject('scope', error, 4, '', 0);
          }
          this.path.length = 2;
        }
        resources.push({ resource, scopes });
      } catch (error) {
        this.reject('resource', error, 2, '', 0);
      }
      this.path.length = 0;
      if (this.sliceFull) yield;
    }
    return this.result(resources, recordCount);
  }

  /** The request's top level: a wrong shape there refuses the request. */
  private structural<T>(read: () => T, field: string): T {
    try {
      return read();
    } catch (error) {
      if (error instanceof RecordError)
        throw new McpwatchError('INPUT_INVALID', `${field}: ${error.message.replace(/^\(root\): /, '')}`);
      throw error;
    }
  }

  private span(wire: Wire): OtlpSpan {
    const status = this.field(wire, 'status', (value) => this.object(value));
    return {
      traceId: this.field(wire, 'traceId', (value) => this.id(value, 16)),
      spanId: this.field(wire, 'spanId', (value) => this.id(value, 8)),
      parentSpanId: this.field(wire, 'parentSpanId', (value) => this.id(value, 8)),
      name: this.field(wire, 'name', (value) => this.string(value)),
      kind: this.field(wire, 'kind', (value) => this.int32(value)),
      startTimeUnixNano: this.field(wire, 'startTimeUnixNano', (value) => this.nanos(value)),
      endTimeUnixNano: this.field(wire, 'endTimeUnixNano', (value) => this.nanos(value)),
      attributes: this.attributesOf(wire),
      statusCode: status === undefined ? 0 : this.field(status, 'code', (value) => this.int32(value)),
      statusMessage: status === undefined ? '' : this.field(status, 'message', (value) => this.string(value)),
    };
  }

  private logRecord(wire: Wire): OtlpLogRecord {
    return {
      timeUnixNano: this.field(wire, 'timeUnixNano', (value) => this.nanos(value)),
      observedTimeUnixNano: this.field(wire, 'observedTimeUnixNano', (value) => this.nanos(value)),
      severityNumber: this.field(wire, 'severityNumber', (value) => this.int32(value)),
      eventName: this.field(wire, 'eventName', (value) => this.string(value)),
      body: this.field(wire, 'body', (value) => (value == null ? undefined : this.anyValue(value, 1))),
      attributes: this.attributesOf(wire),
      traceId: this.field(wire, 'traceId', (value) => this.id(value, 16)),
      spanId: this.field(wire, 'spanId', (value) => this.id(value, 8)),
    };
  }

  private scope(wire: Wire | undefined): OtlpScope {
    if (wire === undefined) return { name: '', version: '', attributes: emptyAttributeMap() };
    return {
      name: this.field(wire, 'name', (value) => this.string(value)),
      version: this.field(wire, 'version', (value) => this.string(value)),
      attributes: this.attributesOf(wire),
    };
  }

  private attributesOf(wire: Wire | undefined): AttributeMap {
    if (wire === undefined) return emptyAttributeMap();
    return this.field(wire, 'attributes', (value) => this.keyValues(value, this.limits.maxAttributes, 1));
  }

  private keyValues(value: unknown, max: number, depth: number): AttributeMap {
    const list = this.list(value);
    if (list.length > max) this.recordError(`${list.length} key-values exceed the limit of ${max}`);
    const map = emptyAttributeMap();
    for (let index = 0; index < list.length; index++) {
      this.path.push(index);
      this.count();
      const keyValue = this.object(list[index]) ?? this.recordError('expected a KeyValue');
      const key = this.field(keyValue, 'key', (item) => this.string(item));
      map[key] = this.field(keyValue, 'value', (item) => (item == null ? null : this.anyValue(item, depth)));
      this.path.pop();
    }
    return map;
  }

  private anyValue(value: unknown, depth: number): AttributeValue {
    this.count();
    if (depth > this.limits.maxValueDepth) return this.flattenedValue();
    const wire = this.object(value) ?? this.recordError('expected an AnyValue');
    if (Object.hasOwn(wire, 'stringValue')) return this.field(wire, 'stringValue', (item) => this.string(item));
    if (Object.hasOwn(wire, 'boolValue')) return this.field(wire, 'boolValue', (item) => this.bool(item));
    if (Object.hasOwn(wire, 'intValue')) return this.field(wire, 'intValue', (item) => this.int64(item));
    if (Object.hasOwn(wire, 'doubleValue')) return this.field(wire, 'doubleValue', (item) => this.double(item));
    if (Object.hasOwn(wire, 'bytesValue')) return this.field(wire, 'bytesValue', (item) => this.bytes(item));
    if (Object.hasOwn(wire, 'arrayValue')) {
      return this.field(wire, 'arrayValue', (array) => {
        const values = this.list(this.object(array)?.values);
        if (values.length > this.limits.maxCollectionEntries) {
          this.recordError(`${values.length} values exceed the limit of ${this.limits.maxCollectionEntries}`);
        }
        return values.map((item, index) => this.at(index, () => this.anyValue(item, depth + 1)));
      });
    }
    if (Object.hasOwn(wire, 'kvlistValue')) {
      return this.field(wire, 'kvlistValue', (kvlist) =>
        this.at('values', () =>
          this.keyValues(this.object(kvlist)?.values, this.limits.maxCollectionEntries, depth + 1),
        ),
      );
    }
    return null;
  }

  private field<T>(wire: Wire, key: string, read: (value: unknown) => T): T {
    return this.at(key, () => read(wire[key]));
  }

  private at<T>(key: string | number, read: () => T): T {
    this.path.push(key);
    const value = read();
    this.path.pop();
    return value;
  }

  private object(value: unknown): Wire | undefined {
    if (value == null) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) this.recordError('expected an object');
    return value as Wire;
  }

  private list(value: unknown): unknown[] {
    if (value == null) return [];
    if (!Array.isArray(value)) this.recordError('expected an array');
    return value;
  }

  private string(value: unknown): string {
    if (value == null) return '';
    if (typeof value !== 'string') this.recordError('expected a string');
    if (value.length > this.limits.maxStringBytes) {
      this.recordError(`${value.length} characters exceed the limit of ${this.limits.maxStringBytes} bytes`);
    }
    return value;
  }

  private bool(value: unknown): boolean {
    if (typeof value !== 'boolean') this.recordError('expected a boolean');
    return value;
  }

  private int32(value: unknown): number {
    if (value == null) return 0;
    if (typeof value !== 'number' || !Number.isInteger(value))
      this.recordError('expected an integer (enums are integers in OTLP/JSON)');
    return value;
  }

  private double(value: unknown): number {
    if (typeof value === 'number') return value;
    if (value === 'NaN') return Number.NaN;
    if (value === 'Infinity') return Number.POSITIVE_INFINITY;
    if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
    return this.recordError('expected a number');
  }

  /** `intValue`: a number when it is a safe integer, else its decimal string. */
  private int64(value: unknown): number | string {
    if (typeof value === 'number' && Number.isInteger(value)) return value;
    if (typeof value === 'string' && DECIMAL.test(value)) {
      const number = Number(value);
      return Number.isSafeInteger(number) ? number : BigInt.asIntN(64, BigInt(value)).toString();
    }
    return this.recordError('expected a 64-bit integer');
  }

  private nanos(value: unknown): bigint {
    if (value == null) return 0n;
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
    if (typeof value === 'string' && NANOS.test(value)) return BigInt.asUintN(64, BigInt(value));
    return this.recordError('expected nanoseconds since the epoch as a decimal string');
  }

  private bytes(value: unknown): string {
    if (typeof value !== 'string') return this.recordError('expected base64 bytes');
    if (value.length > this.limits.maxStringBytes) {
      this.recordError(`${value.length} characters exceed the limit of ${this.limits.maxStringBytes} bytes`);
    }
    return value;
  }

  private id(value: unknown, length: 16 | 8): string {
    if (value == null) return '';
    if (typeof value !== 'string') return this.recordError('expected a hex string');
    if (value === '') return '';
    if (!HEX_ID[length].test(value)) this.recordError(`expected ${length * 2} hex digits`);
    return value.toLowerCase();
  }
}

/** Values in a JSON text, approximately (containers and separators outside strings); stops past `stopAt`. */
function jsonValueCount(text: string, stopAt: number): number {
  let count = 1;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === 0x5c) index++;
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) inString = true;
    else if (code === 0x7b || code === 0x5b || code === 0x2c) {
      if (++count > stopAt) return count;
    }
  }
  return count;
}
