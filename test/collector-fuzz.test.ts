/**
 * Fuzz: thousands of mutated OTLP requests (bit flips, truncation, splices, random bytes, wrong headers, gzip
 * of mutated bodies). The receiver must answer every one with a 2xx or a 4xx naming the problem, never a 5xx
 * and never a dropped connection, and still be healthy afterwards. Seeded, so a failure can be replayed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { startCollector } from '../collector/collector.ts';
import { OtlpProto } from '../collector/otlp/proto.ts';
import { EmbeddedTransport } from '../transport/embedded.ts';

const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 3000);
const CONCURRENCY = 8;
const SEED = Number(process.env.FUZZ_SEED ?? 0x6d63_7077);

/** mulberry32: small, seeded, good enough to pick mutations. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const attributes = [
  { key: 'mcp.method.name', value: { stringValue: 'tools/call' } },
  { key: 'gen_ai.tool.name', value: { stringValue: 'search' } },
  {
    key: 'nested',
    value: { kvlistValue: { values: [{ key: 'a', value: { arrayValue: { values: [{ intValue: 1 }] } } }] } },
  },
];
const traces = OtlpProto.ExportTraceServiceRequest;
const seedProto = Buffer.from(
  traces
    .encode(
      traces.fromObject({
        resourceSpans: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'fuzz' } }] },
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: Buffer.alloc(16, 7),
                    spanId: Buffer.alloc(8, 9),
                    kind: 2,
                    startTimeUnixNano: '1767225600000000000',
                    endTimeUnixNano: '1767225600000000100',
                    attributes,
                  },
                ],
              },
            ],
          },
        ],
      }),
    )
    .finish(),
);
const seedJson = Buffer.from(
  JSON.stringify({
    resourceLogs: [
      {
        scopeLogs: [
          {
            logRecords: [
              {
                timeUnixNano: '1767225600000000000',
                eventName: 'mcpwatch.session',
                body: { kvlistValue: { values: [{ key: 'action', value: { stringValue: 'created' } }] } },
              },
            ],
          },
        ],
      },
    ],
  }),
);

function mutate(next: () => number, body: Buffer): Buffer {
  const out = Buffer.from(body);
  const pick = (n: number): number => Math.floor(next() * n);
  switch (pick(6)) {
    case 0: // bit flips
      for (let flips = 1 + pick(8); flips > 0; flips--) {
        const at = pick(out.length);
        out[at] = (out[at] ?? 0) ^ (1 << pick(8));
      }
      return out;
    case 1: // truncation
      return out.subarray(0, pick(out.length));
    case 2: // splice random bytes in
      return Buffer.concat([
        out.subarray(0, pick(out.length)),
        Buffer.from(Array.from({ length: pick(64) }, () => pick(256))),
        out.subarray(pick(out.length)),
      ]);
    case 3: // duplicate a slice (repeated fields, nested lengths off)
      return Buffer.concat([out, out.subarray(pick(out.length))]);
    case 4: // random bytes
      return Buffer.from(Array.from({ length: pick(512) }, () => pick(256)));
    default: // a byte set to a boundary value
      out[pick(out.length)] = [0x00, 0x7f, 0x80, 0xff][pick(4)] ?? 0;
      return out;
  }
}

void test(`the receiver answers ${REQUESTS} mutated requests with 2xx/4xx and stays up`, async () => {
  const transport = new EmbeddedTransport();
  const collector = await startCollector({ port: 0 }, { transport, logger: pino({ level: 'silent' }) });
  const next = random(SEED);
  const statuses = new Map<number, number>();
  let sent = 0;
  const worker = async (): Promise<void> => {
    while (sent < REQUESTS) {
      sent++;
      const json = next() < 0.4;
      let body = mutate(next, json ? seedJson : seedProto);
      const headers: Record<string, string> = {
        'content-type': json
          ? 'application/json'
          : next() < 0.05
            ? 'application/octet-stream'
            : 'application/x-protobuf',
      };
      if (next() < 0.2) {
        const zipped = gzipSync(body);
        body = next() < 0.5 ? mutate(next, zipped) : zipped;
        headers['content-encoding'] = 'gzip';
      }
      const path = json ? '/v1/logs' : '/v1/traces';
      const response = await fetch(`${collector.url}${path}`, { method: 'POST', body, headers });
      const text = await response.text();
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      assert.ok(response.status < 500, `seed ${SEED}: ${response.status} ${text}`);
      if (response.status >= 400) assert.ok(text.length > 0, `seed ${SEED}: ${response.status} without a message`);
    }
  };
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    assert.equal((await fetch(`${collector.url}/healthz`)).status, 200);
    assert.equal(
      [...statuses.values()].reduce((sum, count) => sum + count, 0),
      REQUESTS,
    );
    assert.ok((statuses.get(400) ?? 0) > 0 && (statuses.get(200) ?? 0) > 0, JSON.stringify([...statuses]));
    console.log(`fuzz seed ${SEED}: statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
  } finally {
    await collector.close();
    await transport.close();
  }
});
