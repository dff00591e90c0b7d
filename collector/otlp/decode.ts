/**
 * Decodes OTLP/HTTP export requests (protobuf or JSON, per the OTLP specification) into the internal shape of
 * `model.ts`, enforcing structural limits on the way. protobufjs and `JSON.parse` produce the same field names
 * (lowerCamelCase), so one walker reads both; only leaf encodings differ: ids are bytes in protobuf and hex
 * in JSON, 64-bit integers are `Long`s in protobuf and decimal strings (or numbers) in JSON, `bytesValue` is
 * bytes in protobuf and base64 in JSON.
 */
import { McpwatchError } from '../../contracts/errors.ts';
import { formatPath } from '../../contracts/parse.ts';
import {
  emptyAttributeMap,
  type AttributeMap,
  type AttributeValue,
  type OtlpExport,
  type OtlpLogRecord,
  type OtlpLogs,
  type OtlpScope,
  type OtlpSpan,
  type OtlpTraces,
} from './model.ts';
import { OtlpProto } from './proto.ts';

export type OtlpEncoding = 'protobuf' | 'json';

export interface DecodeLimits {
  /** Attributes in one attribute list (resource, scope, span or log record). */
  maxAttributes: number;
  /** Nesting of `arrayValue`/`kvlistValue` inside one attribute or log body. */
  maxValueDepth: number;
  /** Entries in one `arrayValue` or `kvlistValue`. */
  maxCollectionEntries: number;
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = {
  maxAttributes: 256,
  maxValueDepth: 32,
  maxCollectionEntries: 8192,
};

type Wire = Record<string, unknown>;

/** What protobufjs decodes 64-bit fields into (the `long` package); `fixed64` ones are unsigned. */
interface LongValue {
  low: number;
  high: number;
  unsigned: boolean;
  toString(): string;
}

function isLong(value: unknown): value is LongValue {
  return typeof value === 'object' && value !== null && 'low' in value && 'high' in value && 'unsigned' in value;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const HEX_ID = { 16: /^[0-9a-fA-F]{32}$/, 8: /^[0-9a-fA-F]{16}$/ } as const;
const DECIMAL = /^-?\d{1,20}$/;
const NANOS = /^\d{1,20}$/;

/** Throws `McpwatchError` `INPUT_INVALID` (malformed) or `LIMIT_EXCEEDED` with the path of the offending field. */
export function decodeTraces(body: Uint8Array, encoding: OtlpEncoding, limits: DecodeLimits): OtlpTraces {
  const walker = new Walker(encoding, limits);
  const request = walker.request(body, OtlpProto.ExportTraceServiceRequest);
  return walker.export(request, 'resourceSpans', 'scopeSpans', 'spans', (span) => walker.span(span));
}

export function decodeLogs(body: Uint8Array, encoding: OtlpEncoding, limits: DecodeLimits): OtlpLogs {
  const walker = new Walker(encoding, limits);
  const request = walker.request(body, OtlpProto.ExportLogsServiceRequest);
  return walker.export(request, 'resourceLogs', 'scopeLogs', 'logRecords', (record) => walker.logRecord(record));
}

class Walker {
  private readonly path: (string | number)[] = [];

  constructor(
    private readonly encoding: OtlpEncoding,
    private readonly limits: DecodeLimits,
  ) {}

  request(body: Uint8Array, type: typeof OtlpProto.ExportTraceServiceRequest): Wire {
    if (this.encoding === 'protobuf') {
      try {
        return type.decode(body);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new McpwatchError('INPUT_INVALID', `malformed protobuf ${type.name}: ${reason}`, { cause: error });
      }
    }
    let text: string;
    try {
      text = utf8.decode(body);
    } catch (error) {
      throw new McpwatchError('INPUT_INVALID', 'JSON body is not valid UTF-8', { cause: error });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new McpwatchError('INPUT_INVALID', `malformed JSON: ${reason}`, { cause: error });
    }
    const request = this.object(parsed);
    if (request === undefined) this.fail(`expected a JSON object (${type.name})`);
    return request;
  }

  export<T>(
    request: Wire,
    resourcesKey: string,
    scopesKey: string,
    recordsKey: string,
    record: (wire: Wire) => T,
  ): OtlpExport<T> {
    let recordCount = 0;
    const resources = this.each(request, resourcesKey, (resourceWire) => ({
      resource: this.attributesOf(this.field(resourceWire, 'resource', (value) => this.object(value))),
      scopes: this.each(resourceWire, scopesKey, (scopeWire) => {
        const scope = this.field(scopeWire, 'scope', (value) => this.scope(this.object(value)));
        const records = this.each(scopeWire, recordsKey, record);
        recordCount += records.length;
        return { scope, records };
      }),
    }));
    return { resources, recordCount };
  }

  span(wire: Wire): OtlpSpan {
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

  logRecord(wire: Wire): OtlpLogRecord {
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
    if (list.length > max) this.exceeded(`${list.length} key-values exceed the limit of ${max}`);
    const map = emptyAttributeMap();
    for (let index = 0; index < list.length; index++) {
      this.path.push(index);
      const keyValue = this.object(list[index]) ?? this.fail('expected a KeyValue');
      const key = this.field(keyValue, 'key', (key) => this.string(key));
      map[key] = this.field(keyValue, 'value', (item) => (item == null ? null : this.anyValue(item, depth)));
      this.path.pop();
    }
    return map;
  }

  private anyValue(value: unknown, depth: number): AttributeValue {
    if (depth > this.limits.maxValueDepth) this.exceeded(`values nest deeper than ${this.limits.maxValueDepth}`);
    const wire = this.object(value) ?? this.fail('expected an AnyValue');
    if (Object.hasOwn(wire, 'stringValue')) return this.field(wire, 'stringValue', (item) => this.string(item));
    if (Object.hasOwn(wire, 'boolValue')) return this.field(wire, 'boolValue', (item) => this.bool(item));
    if (Object.hasOwn(wire, 'intValue')) return this.field(wire, 'intValue', (item) => this.int64(item));
    if (Object.hasOwn(wire, 'doubleValue')) return this.field(wire, 'doubleValue', (item) => this.double(item));
    if (Object.hasOwn(wire, 'bytesValue')) return this.field(wire, 'bytesValue', (item) => this.bytes(item));
    if (Object.hasOwn(wire, 'arrayValue')) {
      return this.field(wire, 'arrayValue', (array) => {
        const values = this.list(this.object(array)?.values);
        if (values.length > this.limits.maxCollectionEntries) {
          this.exceeded(`${values.length} array values exceed the limit of ${this.limits.maxCollectionEntries}`);
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

  private each<T>(wire: Wire, key: string, item: (wire: Wire) => T): T[] {
    this.path.push(key);
    const list = this.list(wire[key]);
    const out: T[] = [];
    for (let index = 0; index < list.length; index++) {
      this.path.push(index);
      out.push(item(this.object(list[index]) ?? this.fail('expected an object')));
      this.path.pop();
    }
    this.path.pop();
    return out;
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
    if (typeof value !== 'object' || Array.isArray(value)) this.fail('expected an object');
    return value as Wire;
  }

  private list(value: unknown): unknown[] {
    if (value == null) return [];
    if (!Array.isArray(value)) this.fail('expected an array');
    return value;
  }

  private string(value: unknown): string {
    if (value == null) return '';
    if (typeof value !== 'string') this.fail('expected a string');
    return value;
  }

  private bool(value: unknown): boolean {
    if (typeof value !== 'boolean') this.fail('expected a boolean');
    return value;
  }

  private int32(value: unknown): number {
    if (value == null) return 0;
    if (typeof value !== 'number' || !Number.isInteger(value))
      this.fail('expected an integer (enums are integers in OTLP/JSON)');
    return value;
  }

  private double(value: unknown): number {
    if (typeof value === 'number') return value;
    if (value === 'NaN') return Number.NaN;
    if (value === 'Infinity') return Number.POSITIVE_INFINITY;
    if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
    return this.fail('expected a number');
  }

  /** `intValue`: a number when it is a safe integer, else its decimal string. */
  private int64(value: unknown): number | string {
    if (isLong(value)) return this.safe(value.toString());
    if (typeof value === 'number' && Number.isInteger(value)) return value;
    if (typeof value === 'string' && DECIMAL.test(value)) return this.safe(value);
    return this.fail('expected a 64-bit integer');
  }

  private safe(decimal: string): number | string {
    const number = Number(decimal);
    return Number.isSafeInteger(number) ? number : decimal;
  }

  private nanos(value: unknown): bigint {
    if (value == null) return 0n;
    if (isLong(value)) return BigInt(value.toString());
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
    if (typeof value === 'string' && NANOS.test(value)) return BigInt(value);
    return this.fail('expected nanoseconds since the epoch as a decimal string');
  }

  private bytes(value: unknown): string {
    if (value instanceof Uint8Array)
      return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
    if (typeof value === 'string') return value;
    return this.fail('expected base64 bytes');
  }

  private id(value: unknown, length: 16 | 8): string {
    if (value == null) return '';
    if (this.encoding === 'protobuf') {
      // protobufjs leaves an absent `bytes` field as its shared empty-array default.
      if (Array.isArray(value) && value.length === 0) return '';
      if (!(value instanceof Uint8Array)) return this.fail('expected bytes');
      if (value.length === 0) return '';
      if (value.length !== length) this.fail(`expected ${length} bytes, got ${value.length}`);
      return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
    }
    if (typeof value !== 'string') return this.fail('expected a hex string');
    if (value === '') return '';
    if (!HEX_ID[length].test(value)) this.fail(`expected ${length * 2} hex digits`);
    return value.toLowerCase();
  }

  private fail(message: string): never {
    throw new McpwatchError('INPUT_INVALID', `${formatPath(this.path)}: ${message}`);
  }

  private exceeded(message: string): never {
    throw new McpwatchError('LIMIT_EXCEEDED', `${formatPath(this.path)}: ${message}`);
  }
}
