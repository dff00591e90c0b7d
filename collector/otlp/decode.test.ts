/**
 * Limits applied while decoding: amplification bodies (millions of empty messages from a few KB of gzip) are
 * refused after a bounded amount of work, over-limit records are rejected alone, too-deep values flattened,
 * and the decoder gives the event loop turns while it works.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { isMcpwatchError } from '../../contracts/errors.ts';
import { FLATTENED_VALUE_MARKER } from '../../contracts/signals.ts';
import { DEFAULT_DECODE_LIMITS, decodeLogs, decodeTraces } from './decode.ts';
import { OtlpProto } from './proto.ts';

const MiB = 1024 * 1024;

/** A length-delimited protobuf field. */
function field(number: number, payload: Buffer): Buffer {
  const header: number[] = [(number << 3) | 2];
  let length = payload.length;
  while (length >= 0x80) {
    header.push((length & 0x7f) | 0x80);
    length >>>= 7;
  }
  header.push(length);
  return Buffer.concat([Buffer.from(header), payload]);
}

/** Counts event-loop turns (immediates) that ran while `work` was pending. */
async function turnsDuring<T>(work: () => Promise<T>): Promise<{ turns: number; result: PromiseSettledResult<T> }> {
  let turns = 0;
  let running = true;
  const tick = (): void => {
    if (!running) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  const [result] = await Promise.allSettled([work()]);
  running = false;
  return { turns, result: result };
}

void test('16 MiB of empty ResourceSpans (a 16 KB gzip body) are refused after maxEntries, yielding on the way', async () => {
  const body = Buffer.alloc(16 * MiB);
  for (let index = 0; index < body.length; index += 2) body[index] = 0x0a; // field 1, length 0
  assert.ok(gzipSync(body).length < 64 * 1024, 'the amplification body is small on the wire');
  const { turns, result } = await turnsDuring(() => decodeTraces(body, 'protobuf', DEFAULT_DECODE_LIMITS));
  assert.equal(result.status, 'rejected');
  const error = result.reason as unknown;
  assert.ok(isMcpwatchError(error, 'LIMIT_EXCEEDED'), String(error));
  assert.match(error.message, /more than 500000 entries/);
  assert.ok(turns > 0, 'the event loop ran while decoding');
});

void test('8 M empty attributes in one span reject that span only; its siblings are decoded', async () => {
  const empties = Buffer.alloc(16 * MiB);
  for (let index = 0; index < empties.length; index += 2) empties[index] = (9 << 3) | 2; // attributes, length 0
  const fine = Buffer.concat([field(5, Buffer.from('fine'))]);
  const scope = field(2, Buffer.concat([field(2, empties), field(2, fine)]));
  const request = field(1, scope);
  const decoded = await decodeTraces(request, 'protobuf', DEFAULT_DECODE_LIMITS);
  assert.equal(decoded.recordCount, 1);
  assert.equal(decoded.resources[0]?.scopes[0]?.records[0]?.name, 'fine');
  assert.equal(decoded.rejected.length, 1);
  assert.match(
    decoded.rejected[0]!.reason,
    /^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.attributes: more than 256/,
  );
  assert.ok(decoded.rejected[0]!.excerpt.length <= 4096 * 2, 'the dead letter keeps a bounded excerpt');
});

void test('the same amplification as OTLP/JSON is refused by the size scan before JSON.parse', async () => {
  const attributes = '{},'.repeat(5 * MiB);
  const body = Buffer.from(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[${attributes}{}]}]}]}]}`);
  assert.ok(gzipSync(body).length < 64 * 1024);
  await assert.rejects(decodeTraces(body, 'json', DEFAULT_DECODE_LIMITS), (error) =>
    isMcpwatchError(error, 'LIMIT_EXCEEDED'),
  );
  assert.ok(gunzipSync(gzipSync(body)).length === body.length);
});

/** Encodes a JSON-like value as an OTLP AnyValue by hand (protobufjs refuses to nest this deep). */
function anyValue(value: unknown): Buffer {
  if (typeof value === 'string') return field(1, Buffer.from(value));
  if (Array.isArray(value)) return field(5, Buffer.concat(value.map((item) => field(1, anyValue(item)))));
  const entries = Object.entries(value as Record<string, unknown>).map(([key, item]) =>
    field(1, Buffer.concat([field(1, Buffer.from(key)), field(2, anyValue(item))])),
  );
  return field(6, Buffer.concat(entries));
}

function anyValueJson(value: unknown): unknown {
  if (typeof value === 'string') return { stringValue: value };
  if (Array.isArray(value)) return { arrayValue: { values: value.map(anyValueJson) } };
  return {
    kvlistValue: {
      values: Object.entries(value as Record<string, unknown>).map(([key, item]) => ({
        key,
        value: anyValueJson(item),
      })),
    },
  };
}

void test('a tool inputSchema nested 40 levels is flattened with a marker; the catalog record is kept', async () => {
  let schema: unknown = 'string';
  for (let depth = 0; depth < 40; depth++) schema = { properties: schema };
  const body = { tools: [{ name: 'deep', inputSchema: schema }] };
  const record = Buffer.concat([field(12, Buffer.from('mcpwatch.tool_catalog')), field(5, anyValue(body))]);
  const protobuf = field(1, field(2, field(2, record)));
  const json = Buffer.from(
    JSON.stringify({
      resourceLogs: [
        { scopeLogs: [{ logRecords: [{ eventName: 'mcpwatch.tool_catalog', body: anyValueJson(body) }] }] },
      ],
    }),
  );
  for (const [encoding, bytes] of [
    ['protobuf', protobuf],
    ['json', json],
  ] as const) {
    const decoded = await decodeLogs(bytes, encoding, DEFAULT_DECODE_LIMITS);
    assert.equal(decoded.recordCount, 1, encoding);
    assert.equal(decoded.rejected.length, 0, encoding);
    assert.equal(decoded.flattenedValues, 1, encoding);
    const tools = (decoded.resources[0]!.scopes[0]!.records[0]!.body as Record<string, unknown>).tools as unknown[];
    let value: unknown = (tools[0] as Record<string, unknown>).inputSchema;
    let levels = 0;
    while (typeof value === 'object' && value !== null) {
      value = (value as Record<string, unknown>).properties;
      levels++;
    }
    assert.equal(value, FLATTENED_VALUE_MARKER, encoding);
    assert.ok(levels > 20 && levels < 40, `${encoding}: ${levels}`);
  }
});

void test('64-bit integers and timestamps are read exactly', async () => {
  const request = OtlpProto.ExportTraceServiceRequest.encode(
    OtlpProto.ExportTraceServiceRequest.fromObject({
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  startTimeUnixNano: '18446744073709551615',
                  kind: -1,
                  attributes: [
                    { key: 'big', value: { intValue: '-9223372036854775808' } },
                    { key: 'safe', value: { intValue: '-9007199254740991' } },
                    { key: 'small', value: { intValue: 42 } },
                    { key: 'd', value: { doubleValue: 1.5 } },
                    { key: 'b', value: { boolValue: true } },
                    { key: 'bytes', value: { bytesValue: Buffer.from('hi') } },
                  ],
                },
              ],
            },
          ],
        },
      ],
    }),
  ).finish();
  const span = (await decodeTraces(request, 'protobuf', DEFAULT_DECODE_LIMITS)).resources[0]!.scopes[0]!.records[0]!;
  assert.equal(span.startTimeUnixNano, 18446744073709551615n);
  assert.equal(span.kind, -1);
  assert.deepEqual(
    { ...span.attributes },
    {
      big: '-9223372036854775808',
      safe: -9007199254740991,
      small: 42,
      d: 1.5,
      b: true,
      bytes: Buffer.from('hi').toString('base64'),
    },
  );
});
