/**
 * The receiver's answers to hostile and malformed input, partial success and authentication, over real HTTP
 * against the real embedded transport (the in-process event log of `mcpwatch serve`).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { request as httpRequest } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { EmbeddedTransport } from '../../transport/embedded.ts';
import { TOPICS, HEADERS } from '../../transport/topics.ts';
import { startCollector, type RunningCollector } from '../collector.ts';
import { OtlpProto } from '../otlp/proto.ts';
import { waitFor } from '../../test/support/wait-for.ts';

const logger = pino({ level: 'silent' });
const TRACE_ID = Buffer.alloc(16, 0xab);
const SPAN_ID = Buffer.alloc(8, 0xcd);

function kv(key: string, value: unknown): unknown {
  if (typeof value === 'number') return { key, value: { intValue: value } };
  return { key, value: { stringValue: value } };
}

function tracesProto(spans: unknown[]): Uint8Array {
  const type = OtlpProto.ExportTraceServiceRequest;
  return type
    .encode(
      type.fromObject({
        resourceSpans: [{ resource: { attributes: [kv('service.name', 'svc')] }, scopeSpans: [{ spans }] }],
      }),
    )
    .finish();
}

function mcpSpan(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    traceId: TRACE_ID,
    spanId: SPAN_ID,
    name: 'tools/call',
    kind: 2,
    startTimeUnixNano: '1767225600000000000',
    endTimeUnixNano: '1767225600005000000',
    attributes: [kv('mcp.method.name', 'tools/call'), kv('gen_ai.tool.name', 'echo')],
    ...extra,
  };
}

function logsJson(records: unknown[]): string {
  return JSON.stringify({ resourceLogs: [{ resource: { attributes: [] }, scopeLogs: [{ logRecords: records }] }] });
}

async function post(
  url: string,
  body: Uint8Array | string,
  headers: Record<string, string>,
): Promise<{ status: number; text: string; bytes: Uint8Array; headers: Headers }> {
  const response = await fetch(url, { method: 'POST', body, headers });
  const bytes = new Uint8Array(await response.arrayBuffer());
  return { status: response.status, text: Buffer.from(bytes).toString('utf8'), bytes, headers: response.headers };
}

const PROTO = { 'content-type': 'application/x-protobuf' };
const JSON_TYPE = { 'content-type': 'application/json' };

void describe('OTLP/HTTP receiver', () => {
  let transport: EmbeddedTransport;
  let collector: RunningCollector;
  let traces: string;
  let logs: string;

  before(async () => {
    transport = new EmbeddedTransport();
    collector = await startCollector(
      {
        port: 0,
        limits: { maxBodyBytes: 64 * 1024, maxDecompressedBytes: 256 * 1024, maxAttributes: 16, maxValueDepth: 4 },
      },
      { transport, logger },
    );
    traces = `${collector.url}/v1/traces`;
    logs = `${collector.url}/v1/logs`;
  });

  after(async () => {
    await collector.close();
    await transport.close();
  });

  void test('a valid protobuf export is answered 200 with an empty protobuf response', async () => {
    const response = await post(traces, tracesProto([mcpSpan()]), PROTO);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/x-protobuf');
    assert.equal(response.bytes.length, 0);
  });

  void test('gzip bodies are accepted; a gzip bomb is answered 413', async () => {
    const ok = await post(traces, gzipSync(tracesProto([mcpSpan()])), { ...PROTO, 'content-encoding': 'gzip' });
    assert.equal(ok.status, 200);
    const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024));
    assert.ok(bomb.length < 64 * 1024);
    const refused = await post(traces, bomb, { ...PROTO, 'content-encoding': 'gzip' });
    assert.equal(refused.status, 413);
    const status = OtlpProto.RpcStatus.toObject(OtlpProto.RpcStatus.decode(refused.bytes));
    assert.match(String(status.message), /Decompressed body exceeds the limit of 262144 bytes/);
  });

  void test('a body over the limit is answered 413', async () => {
    const response = await post(traces, randomBytes(65 * 1024), PROTO);
    assert.equal(response.status, 413);
  });

  void test('wrong content type 415, unknown encoding 415, GET 405, unknown path 404', async () => {
    assert.equal((await post(traces, 'x', { 'content-type': 'text/plain' })).status, 415);
    assert.equal((await post(traces, 'x', { ...PROTO, 'content-encoding': 'br' })).status, 415);
    const get = await fetch(traces);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    assert.equal((await post(`${collector.url}/v1/metrics`, 'x', PROTO)).status, 404);
  });

  void test('malformed protobuf, truncated bodies, truncated gzip and invalid UTF-8 JSON are 400 with a precise message; a bad string rejects its span only', async () => {
    const valid = tracesProto([mcpSpan()]);
    const truncated = await post(traces, valid.subarray(0, valid.length - 5), PROTO);
    assert.equal(truncated.status, 400);
    assert.match(
      String(OtlpProto.RpcStatus.decode(truncated.bytes).toJSON().message),
      /^malformed protobuf ExportTraceServiceRequest/,
    );

    const gz = gzipSync(valid);
    const cut = await post(traces, gz.subarray(0, gz.length - 8), { ...PROTO, 'content-encoding': 'gzip' });
    assert.equal(cut.status, 400);
    assert.match(String(OtlpProto.RpcStatus.decode(cut.bytes).toJSON().message), /gzip body cannot be decompressed/);

    const badUtf8 = await post(traces, Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]), JSON_TYPE);
    assert.equal(badUtf8.status, 400);
    assert.deepEqual(JSON.parse(badUtf8.text), { code: 3, message: 'JSON body is not valid UTF-8' });

    const name = Buffer.from('tools/call');
    const withBadString = Buffer.from(valid);
    withBadString[withBadString.indexOf(name)] = 0xc3;
    // Inside one span: that span is dead-lettered, the request is not refused.
    const badProtoString = await post(traces, withBadString, PROTO);
    assert.equal(badProtoString.status, 200);
    const answer = OtlpProto.ExportTraceServiceResponse.toObject(
      OtlpProto.ExportTraceServiceResponse.decode(badProtoString.bytes),
      { longs: String },
    ) as { partialSuccess: { rejectedSpans: string; errorMessage: string } };
    assert.equal(answer.partialSuccess.rejectedSpans, '1');
    assert.match(answer.partialSuccess.errorMessage, /spans\[0\]\.name: string field is not valid UTF-8/);
  });

  void test('JSON with a wrong type names the field; only that record is rejected', async () => {
    const body = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'zz', spanId: '' }] }] }] });
    const response = await post(traces, body, JSON_TYPE);
    assert.equal(response.status, 200);
    const answer = JSON.parse(response.text) as { partialSuccess: { rejectedSpans: string; errorMessage: string } };
    assert.equal(answer.partialSuccess.rejectedSpans, '1');
    assert.match(
      answer.partialSuccess.errorMessage,
      /first: resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.traceId: expected 32 hex digits$/,
    );
    const notAList = await post(traces, JSON.stringify({ resourceSpans: 7 }), JSON_TYPE);
    assert.equal(notAList.status, 400);
    assert.match((JSON.parse(notAList.text) as { message: string }).message, /^resourceSpans: expected an array/);
  });

  void test('an over-limit record is rejected alone; a too-deep value is flattened, its record kept', async () => {
    const many = Array.from({ length: 17 }, (_, index) => kv(`a${index}`, 'v'));
    const tooMany = await post(traces, tracesProto([mcpSpan({ attributes: many }), mcpSpan()]), PROTO);
    assert.equal(tooMany.status, 200);
    const answer = OtlpProto.ExportTraceServiceResponse.toObject(
      OtlpProto.ExportTraceServiceResponse.decode(tooMany.bytes),
      { longs: String },
    ) as { partialSuccess: { rejectedSpans: string; errorMessage: string } };
    assert.equal(answer.partialSuccess.rejectedSpans, '1');
    assert.match(answer.partialSuccess.errorMessage, /spans\[0\]\.attributes: more than 16 key-values/);

    let value: unknown = { stringValue: 'leaf' };
    for (let depth = 0; depth < 6; depth++) value = { arrayValue: { values: [value] } };
    const deep = await post(
      traces,
      tracesProto([mcpSpan({ attributes: [kv('mcp.method.name', 'tools/call'), { key: 'deep', value }] })]),
      PROTO,
    );
    assert.equal(deep.status, 200);
    assert.equal(deep.bytes.length, 0, 'nothing rejected');
    const flattened = await collector.metrics.registry.getSingleMetricAsString(
      'mcpwatch_collector_flattened_values_total',
    );
    assert.match(flattened, /signal="span"} 1/);
  });

  void test('what decodes but cannot be normalized is dead-lettered and reported as partial success', async () => {
    const before = (await transport.partitionCount(TOPICS.eventsDeadLetter)) > 0;
    assert.ok(before);
    const response = await post(
      logs,
      logsJson([
        { timeUnixNano: '1767225600000000000', eventName: 'mcpwatch.auth', body: { stringValue: 'not a map' } },
        {
          timeUnixNano: '1767225600000000000',
          eventName: 'mcpwatch.session',
          attributes: [{ key: 'mcpwatch.event.id', value: { stringValue: 'e-1' } }],
          body: { kvlistValue: { values: [{ key: 'action', value: { stringValue: 'exploded' } }] } },
        },
        { timeUnixNano: '1767225600000000000', eventName: 'some.other.event', body: { stringValue: 'ignored' } },
      ]),
      JSON_TYPE,
    );
    assert.equal(response.status, 200);
    const answer = JSON.parse(response.text) as {
      partialSuccess: { rejectedLogRecords: string; errorMessage: string };
    };
    assert.equal(answer.partialSuccess.rejectedLogRecords, '2');
    assert.match(
      answer.partialSuccess.errorMessage,
      /2 log records could not be accepted and were dead-lettered; first: body: expected a map/,
    );

    const letters = [];
    for await (const record of transport.readPartition(TOPICS.eventsDeadLetter, 0)) letters.push(record);
    const reasons = letters.map((record) => record.headers[HEADERS.deadLetterReason]);
    assert.ok(reasons.includes('body: expected a map with the fields of a auth event'), String(reasons));
    assert.ok(
      reasons.some((reason) => reason?.startsWith('action: ')),
      String(reasons),
    );
    const metric = await collector.metrics.registry.getSingleMetricAsString('mcpwatch_collector_dead_lettered_total');
    assert.match(metric, /signal="log"} 2/);
  });

  void test('a tool catalog with a schema nested 20 levels is stored, flattened and marked; nothing is rejected', async () => {
    let schema: unknown = { stringValue: 'string' };
    for (let depth = 0; depth < 20; depth++) {
      schema = { kvlistValue: { values: [{ key: 'properties', value: schema }] } };
    }
    const tool = (name: string, inputSchema: unknown): unknown => ({
      kvlistValue: {
        values: [
          { key: 'name', value: { stringValue: name } },
          { key: 'hash', value: { stringValue: `sha256:${'e'.repeat(64)}` } },
          { key: 'inputSchema', value: inputSchema },
        ],
      },
    });
    const body = {
      kvlistValue: {
        values: [
          { key: 'trigger', value: { stringValue: 'tools/list' } },
          { key: 'listHash', value: { stringValue: `sha256:${'f'.repeat(64)}` } },
          {
            key: 'tools',
            value: { arrayValue: { values: [tool('deep_tool', schema), tool('flat_tool', { kvlistValue: {} })] } },
          },
        ],
      },
    };
    const response = await post(
      logs,
      logsJson([
        {
          timeUnixNano: '1767225600000000000',
          eventName: 'mcpwatch.tool_catalog',
          attributes: [{ key: 'mcpwatch.event.id', value: { stringValue: 'deep-catalog-1' } }],
          body,
        },
      ]),
      JSON_TYPE,
    );
    assert.equal(response.status, 200);
    assert.equal(response.text, '{}', 'nothing rejected');
    const stored = [];
    for (let partition = 0; partition < (await transport.partitionCount(TOPICS.events)); partition++) {
      for await (const record of transport.readPartition(TOPICS.events, partition)) stored.push(record);
    }
    const catalog = stored
      .map(
        (record) => JSON.parse(record.value.toString('utf8')) as { eventId: string; tools?: Record<string, unknown>[] },
      )
      .find((event) => event.eventId === 'deep-catalog-1');
    assert.ok(catalog?.tools !== undefined);
    const [deep, flat] = catalog.tools;
    assert.equal(deep?.flattened, true);
    assert.equal(deep?.maxDepth, 3, 'name/inputSchema/properties/(flattened)');
    assert.match(JSON.stringify(deep?.inputSchema), /nested deeper than the limit/);
    assert.equal(flat?.flattened, undefined);
    assert.equal(flat?.maxDepth, 2, 'the definition and its empty inputSchema');
  });

  void test('healthz and readyz answer', async () => {
    assert.equal((await fetch(`${collector.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${collector.url}/readyz`)).status, 200);
  });

  void test('a rebound Host is answered 421 and a foreign Origin 403, and nothing they sent is stored (DNS rebinding)', async () => {
    const before = await storedEvents(transport);
    const port = Number(new URL(collector.url).port);
    const body = tracesProto([mcpSpan()]);
    assert.equal((await rawPost(port, '/v1/traces', body, { ...PROTO, host: `attacker.example:${port}` })).status, 421);
    assert.equal((await rawPost(port, '/healthz', body, { host: 'attacker.example' })).status, 421);
    const crossSite = { ...PROTO, host: `127.0.0.1:${port}`, origin: 'http://attacker.example' };
    assert.equal((await rawPost(port, '/v1/traces', body, crossSite)).status, 403);
    assert.equal((await rawPost(port, '/v1/traces', body, { ...PROTO, origin: 'null' })).status, 403);
    assert.equal(await storedEvents(transport), before);
    assert.equal((await rawPost(port, '/v1/traces', body, { ...PROTO, host: `localhost:${port}` })).status, 200);
    assert.equal(await storedEvents(transport), before + 1);
  });
});

void describe('client aborts', () => {
  void test('a client that goes away mid-body is counted and logged at debug, without an error line or stack', async () => {
    const lines: { level: number; msg: string; err?: unknown }[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
          lines.push(JSON.parse(line) as (typeof lines)[number]);
        done();
      },
    });
    const transport = new EmbeddedTransport();
    const collector = await startCollector({ port: 0 }, { transport, logger: pino({ level: 'trace' }, sink) });
    try {
      const port = Number(new URL(collector.url).port);
      for (let attempt = 0; attempt < 5; attempt++) {
        const sent = httpRequest({
          host: '127.0.0.1',
          port,
          path: '/v1/traces',
          method: 'POST',
          headers: { ...PROTO, 'content-length': '100000' },
        });
        sent.on('error', () => undefined);
        sent.write(Buffer.alloc(1000));
        // Destroyed once the first bytes are out: the receiver is then mid-body.
        await new Promise((resolve) => setTimeout(resolve, 20));
        sent.destroy();
      }
      const aborted = async (): Promise<number> =>
        (await collector.metrics.rejected.get()).values.find((value) => value.labels.reason === 'client-aborted')
          ?.value ?? 0;
      await waitFor('five client aborts to be counted', async () => (await aborted()) === 5);
      assert.deepEqual(
        lines.filter((line) => line.level >= 40).map((line) => line.msg),
        [],
        'no warn or error line for a client that went away',
      );
      assert.equal(lines.filter((line) => line.msg === 'OTLP client aborted the request.').length, 5);
      assert.ok(
        lines.every((line) => line.err === undefined),
        'no stack in the log',
      );
    } finally {
      await collector.close();
      await transport.close();
    }
  });
});

/** Records in the events topic, all partitions. */
async function storedEvents(transport: EmbeddedTransport): Promise<number> {
  let count = 0;
  for (let partition = 0; partition < (await transport.partitionCount(TOPICS.events)); partition++) {
    for await (const _record of transport.readPartition(TOPICS.events, partition)) count++;
  }
  return count;
}

/** A POST with the given headers (fetch cannot set `Host`). */
function rawPost(
  port: number,
  path: string,
  body: Uint8Array,
  headers: Record<string, string>,
): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const sent = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', headers }, (response) => {
      response.resume();
      resolve({ status: response.statusCode ?? 0 });
    });
    sent.on('error', reject);
    sent.end(body);
  });
}

void describe('authentication', () => {
  void test('bearer tokens from a file are required; a wrong token is 401', async () => {
    const tokenFile = path.join(tmpdir(), `mcpwatch-tokens-${process.pid}`);
    await writeFile(tokenFile, '# collector tokens\ns3cret-one\n\ns3cret-two\n');
    const transport = new EmbeddedTransport();
    const collector = await startCollector({ port: 0, auth: { tokenFile } }, { transport, logger });
    try {
      const url = `${collector.url}/v1/traces`;
      const none = await post(url, tracesProto([mcpSpan()]), PROTO);
      assert.equal(none.status, 401);
      assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="mcpwatch"');
      assert.equal(
        (await post(url, tracesProto([mcpSpan()]), { ...PROTO, authorization: 'Bearer wrong' })).status,
        401,
      );
      assert.equal(
        (await post(url, tracesProto([mcpSpan()]), { ...PROTO, authorization: 'Bearer s3cret-two' })).status,
        200,
      );
      assert.equal((await fetch(`${collector.url}/metrics`)).status, 401);
    } finally {
      await collector.close();
      await transport.close();
    }
  });

  void test('binding a non-loopback address without authentication refuses to start unless allowed', async () => {
    const transport = new EmbeddedTransport();
    await assert.rejects(
      startCollector({ host: '0.0.0.0', port: 0 }, { transport, logger }),
      /without authentication is refused/,
    );
    const allowed = await startCollector(
      { host: '0.0.0.0', port: 0, allowUnauthenticated: true },
      { transport, logger },
    );
    await allowed.close();
    await transport.close();
  });

  void test('an unknown config key is refused with its path', async () => {
    const transport = new EmbeddedTransport();
    await assert.rejects(
      startCollector({ port: 0, limits: { maxBody: 1 } } as never, { transport, logger }),
      /limits: Unrecognized key: "maxBody"/,
    );
    await transport.close();
  });
});
