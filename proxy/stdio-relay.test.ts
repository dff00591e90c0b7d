/**
 * The stdio relay is never in the way: lines that are not JSON-RPC, from either side, are relayed unchanged
 * and counted; an observer whose telemetry fails at every step changes no byte and no exit code.
 */
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { test } from 'node:test';
import type { Tracer, TracerProvider } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import type { LoggerProvider } from '@opentelemetry/api-logs';
import { pino } from 'pino';
import { Telemetry } from '../observer/telemetry.ts';
import { runStdioProxy } from './stdio-relay.ts';
import type { StdioProxyExit } from './stdio-relay.ts';

/** A server that answers each JSON-RPC request, says something that is not JSON-RPC, and exits with 3 at EOF. */
const SERVER = `
let buffer = '';
process.stdin.on('data', (chunk) => {
  buffer += chunk;
  let end;
  while ((end = buffer.indexOf('\\n')) !== -1) {
    const line = buffer.slice(0, end);
    buffer = buffer.slice(end + 1);
    let message;
    try { message = JSON.parse(line); } catch { process.stdout.write('server noise: ' + line + '\\n'); continue; }
    if (message.id !== undefined) process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: message.id, result: { echoed: message.method } }) + '\\n');
  }
});
process.stdin.on('end', () => { process.stdout.write('{"half a line'); process.exitCode = 3; });
`;

const CLIENT_LINES = [
  JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18' } }),
  'not json at all',
  JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: {} } }),
  '[]',
];
const EXPECTED =
  '{"jsonrpc":"2.0","id":1,"result":{"echoed":"initialize"}}\n' +
  'server noise: not json at all\n' +
  '{"jsonrpc":"2.0","id":2,"result":{"echoed":"tools/call"}}\n' +
  '{"half a line';

async function relay(telemetry: Telemetry): Promise<{ exit: StdioProxyExit; output: string }> {
  const input = new PassThrough();
  let output = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      output += chunk.toString('utf8');
      done();
    },
  });
  const running = runStdioProxy({
    command: process.execPath,
    args: ['-e', SERVER],
    name: 'relay-test',
    telemetry,
    logger: pino({ level: 'silent' }),
    maxObservedBytes: 1024 * 1024,
    input,
    output: sink,
  });
  // Split across writes, as a pipe may deliver it.
  const text = CLIENT_LINES.join('\n') + '\n';
  input.write(text.slice(0, 17));
  input.end(text.slice(17));
  const exit = await running;
  return { exit, output };
}

void test('lines that are not JSON-RPC are relayed unchanged from either side and counted', async () => {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const { exit, output } = await relay(new Telemetry({ meterProvider }));
  assert.equal(output, EXPECTED);
  assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 3, signal: null });
  // The client's "not json at all" and "[]", the server's noise line; the unterminated tail is never a line.
  assert.deepEqual(exit.counters, { inbound: 2, outbound: 2, malformed: 3, oversize: 0 });
  await reader.forceFlush();
  const counted = exporter
    .getMetrics()
    .flatMap((metrics) => metrics.scopeMetrics.flatMap((scope) => scope.metrics))
    .filter((metric) => metric.descriptor.name === 'mcpwatch.instrumentation.untracked')
    .flatMap((metric) => metric.dataPoints as { attributes: Record<string, unknown>; value: unknown }[])
    .filter((point) => point.attributes['reason'] === 'malformed-json-rpc');
  const by = (direction: string): unknown =>
    counted.find((point) => point.attributes['direction'] === direction)?.value;
  assert.equal(by('inbound'), 2);
  assert.equal(by('outbound'), 1);
  await meterProvider.shutdown();
});

void test('an observer whose telemetry throws at every step changes no byte and no exit code', async () => {
  const failing = (): never => {
    throw new Error('telemetry is broken');
  };
  const tracerProvider: TracerProvider = {
    getTracer: () => ({ startSpan: failing, startActiveSpan: failing }) as Tracer,
  };
  const loggerProvider = { getLogger: () => ({ emit: failing, enabled: () => true }) } as LoggerProvider;
  const { exit, output } = await relay(new Telemetry({ tracerProvider, loggerProvider }));
  assert.equal(output, EXPECTED);
  assert.equal(exit.code, 3);
  assert.equal(exit.counters.inbound, 2, 'the messages were still handed to the observer');
});
