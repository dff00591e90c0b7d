/**
 * OTLP protobuf spans per second from HTTP into Kafka through the collector (decode, normalize, validate,
 * produce with acks=all and an idempotent producer, 2xx only after the acknowledgement), against the raw
 * kafkajs producer sending the very records the collector produces, measured in the same run. The client
 * (pre-encoded bodies, 8 concurrent exporters) runs in the same process, so "per core" divides by the CPU time
 * of the whole process: a conservative figure.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { pino } from 'pino';
import { startCollector } from '../collector/collector.ts';
import { decodeTraces, DEFAULT_DECODE_LIMITS } from '../collector/otlp/decode.ts';
import { OtlpProto } from '../collector/otlp/proto.ts';
import { partitionKeyOf } from '../contracts/mcp-event.ts';
import { normalizeTraces } from '../collector/transforms/normalize.ts';
import { KafkaTransport } from '../transport/kafka.ts';
import { formatNumber, measure, printTable, quantile, type BenchContext } from './harness.ts';

const exportsPerRun = 40;
const spansPerExport = 250;
const concurrency = 8;
const runs = 5;
const partitions = 3;

export function exportBody(exportIndex: number): Uint8Array {
  const spans = Array.from({ length: spansPerExport }, (_, index) => {
    const id = Buffer.alloc(8);
    id.writeUInt32BE(exportIndex, 0);
    id.writeUInt32BE(index + 1, 4);
    return {
      traceId: Buffer.concat([id, id]),
      spanId: id,
      name: 'tools/call search',
      kind: 2,
      startTimeUnixNano: String(1_767_225_600_000_000_000n + BigInt(index) * 1000n),
      endTimeUnixNano: String(1_767_225_600_002_000_000n + BigInt(index) * 1000n),
      attributes: [
        { key: 'mcp.method.name', value: { stringValue: 'tools/call' } },
        { key: 'gen_ai.tool.name', value: { stringValue: 'search' } },
        { key: 'mcp.session.id', value: { stringValue: `session-${index % 64}` } },
        { key: 'jsonrpc.request.id', value: { intValue: index } },
        { key: 'mcp.protocol.version', value: { stringValue: '2025-06-18' } },
        { key: 'client.address', value: { stringValue: '127.0.0.1' } },
        { key: 'network.transport', value: { stringValue: 'tcp' } },
        { key: 'network.protocol.name', value: { stringValue: 'http' } },
      ],
    };
  });
  const type = OtlpProto.ExportTraceServiceRequest;
  return type
    .encode(
      type.fromObject({
        resourceSpans: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'bench-server' } }] },
            scopeSpans: [{ scope: { name: 'vendor-mcp-otel' }, spans }],
          },
        ],
      }),
    )
    .finish();
}

export default async function collectorBench({ brokers, reportGoal }: BenchContext): Promise<void> {
  const bodies = Array.from({ length: exportsPerRun }, (_, index) => exportBody(index));
  const decoded = await Promise.all(bodies.map((body) => decodeTraces(body, 'protobuf', DEFAULT_DECODE_LIMITS)));
  const records = decoded.flatMap((traces) =>
    normalizeTraces(traces).events.map((event) => ({
      key: partitionKeyOf(event),
      value: JSON.stringify(event),
      headers: { 'mcpwatch-schema-version': '1' },
    })),
  );
  const kafka = new Kafka({ clientId: 'bench-collector-baseline', brokers, logLevel: logLevel.ERROR });
  const admin = kafka.admin();
  await admin.connect();
  const transport = new KafkaTransport({ brokers }, { logger: pino({ level: 'error' }) });
  const collector = await startCollector(
    { port: 0, topics: { events: `bench.collector.${randomUUID().slice(0, 8)}`, eventPartitions: partitions } },
    { transport, logger: pino({ level: 'warn' }) },
  );
  const cpu = new Map<string, { cpuMs: number; wallMs: number }>();
  const timed = async (name: string, work: () => Promise<number>): Promise<{ units: number }> => {
    const cpuStart = process.cpuUsage();
    const wallStart = performance.now();
    const units = await work();
    const used = process.cpuUsage(cpuStart);
    const total = cpu.get(name) ?? { cpuMs: 0, wallMs: 0 };
    total.cpuMs += (used.user + used.system) / 1000;
    total.wallMs += performance.now() - wallStart;
    cpu.set(name, total);
    return { units };
  };

  try {
    const baseline = await measure({
      name: 'kafkajs producer, same records',
      runs,
      setup: async () => {
        const topic = `bench.collector-baseline.${randomUUID().slice(0, 8)}`;
        await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
        const producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
        await producer.connect();
        return { producer, topic };
      },
      run: ({ producer, topic }) =>
        timed('kafkajs producer, same records', async () => {
          for (let start = 0; start < records.length; start += 1000) {
            await producer.send({ topic, acks: -1, messages: records.slice(start, start + 1000) });
          }
          return records.length;
        }),
      teardown: ({ producer }) => producer.disconnect(),
    });
    const viaCollector = await measure({
      name: 'OTLP/HTTP protobuf → collector → Kafka',
      runs,
      run: () =>
        timed('OTLP/HTTP protobuf → collector → Kafka', async () => {
          let next = 0;
          const exporter = async (): Promise<void> => {
            for (let body = bodies[next++]; body !== undefined; body = bodies[next++]) {
              const response = await fetch(`${collector.url}/v1/traces`, {
                method: 'POST',
                body,
                headers: { 'content-type': 'application/x-protobuf' },
              });
              await response.arrayBuffer();
              if (response.status !== 200) throw new Error(`collector answered ${response.status}`);
            }
          };
          await Promise.all(Array.from({ length: concurrency }, exporter));
          return bodies.length * spansPerExport;
        }),
    });
    // Decode alone: the wire decoder (limits applied while decoding, attributes built in one pass) against
    // protobufjs decoding the same bodies into its message objects, which the collector used to walk after.
    const protobufjsDecode = await measure({
      name: 'protobufjs decode (baseline, no limits)',
      runs,
      run: () => {
        for (const body of bodies) OtlpProto.ExportTraceServiceRequest.decode(body);
        return Promise.resolve({ units: bodies.length * spansPerExport });
      },
    });
    const wireDecode = await measure({
      name: 'wire decoder with limits',
      runs,
      run: async () => {
        for (const body of bodies) await decodeTraces(body, 'protobuf', DEFAULT_DECODE_LIMITS);
        return { units: bodies.length * spansPerExport };
      },
    });
    const normalize = await measure({
      name: 'wire decoder + normalize',
      runs,
      run: async () => {
        for (const body of bodies) normalizeTraces(await decodeTraces(body, 'protobuf', DEFAULT_DECODE_LIMITS));
        return { units: bodies.length * spansPerExport };
      },
    });
    printTable('OTLP decode, same bodies', [protobufjsDecode, wireDecode, normalize], {
      baseline: protobufjsDecode.name,
      unit: 'spans/s',
    });
    printTable(
      `${(exportsPerRun * spansPerExport).toLocaleString('en-US')} MCP spans per run (${spansPerExport}/export, ${concurrency} exporters), ${partitions} partitions`,
      [baseline, viaCollector],
      { baseline: baseline.name, unit: 'spans/s' },
    );
    const collectorRate = quantile(viaCollector.samples, 0.5);
    const producerRate = quantile(baseline.samples, 0.5);
    reportGoal({
      figure: 'collector: OTLP protobuf → Kafka',
      measured: `${formatNumber(collectorRate)} spans/s`,
      baseline: `raw kafkajs producer, same records: ${formatNumber(producerRate)}`,
      ratio: `${(collectorRate / producerRate).toFixed(2)}×`,
      goal: '≥ 0.5×',
      met: collectorRate / producerRate >= 0.5,
    });
    for (const [name, { cpuMs, wallMs }] of cpu) {
      const units = records.length * (runs + 1);
      console.log(
        `${name}: ${Math.round((units * 1000) / cpuMs).toLocaleString('en-US')} spans per CPU-second ` +
          `(process used ${(cpuMs / wallMs).toFixed(2)} cores, warm-ups included)`,
      );
    }
    console.log();
  } finally {
    await collector.close();
    await transport.close();
    await admin.disconnect();
  }
}
