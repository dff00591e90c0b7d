/**
 * mcpwatch's own audit records skip the OTel log SDK's emit when its pipeline is the registered one: decoded
 * from a real OTLP receiver, they must be exactly what the SDK's `Logger.emit` puts on the wire for the same
 * events (resource, scope, times, severity, body, attributes, trace context), and the export filter must
 * still remove a credential learned after the event was captured.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { context, INVALID_SPAN_CONTEXT, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import type { LoggerProvider } from '@opentelemetry/api-logs';
import { auditLogOf } from '../observer/export/audit-log.ts';
import { startTelemetryPipeline, type TelemetryPipeline } from '../observer/export/pipeline.ts';
import { isoNow } from '../observer/event-time.ts';
import { knownSecrets, Telemetry } from '../observer/telemetry.ts';
import type { AuditEvent, ServerRef } from '../observer/types.ts';
import { OtlpReceiver, type ReceivedLogRecord } from './support/otlp-receiver.ts';

const LATER_SECRET = 'learned-after-capture-7f3a9c21';
/** Today's time, in the form the observer writes (read back without a `Date`), the same for both paths. */
const NOW = isoNow();

let receiver: OtlpReceiver;
let pipeline: TelemetryPipeline;

before(async () => {
  receiver = new OtlpReceiver();
  process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = await receiver.start();
  process.env['OTEL_SERVICE_NAME'] = 'audit-log-wire';
  pipeline = startTelemetryPipeline();
});

after(async () => {
  await pipeline.shutdown();
  await receiver.stop();
});

/** The same events each time they are asked for (fresh objects), with how each is emitted. */
function auditEvents(parent: Context): { event: AuditEvent; server: ServerRef; context?: Context }[] {
  const server = { name: 'weather', version: '1.2.3' };
  const withSpan = trace.setSpan(
    ROOT_CONTEXT,
    trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 }),
  );
  const call: AuditEvent = {
    kind: 'call',
    time: '2025-03-04T05:06:07.089Z',
    transport: 'streamable-http',
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    method: 'tools/call',
    tool: 'get_weather',
    requestId: '7',
    outcome: 'ok',
    durationMs: 1.25,
    authenticated: false,
    arguments: `{"city":"Oslo","note":"key ${LATER_SECRET}"}`,
    secretFindings: [{ type: 'credential-field', location: 'arguments.key', fingerprint: 'hmac-sha256:abcd' }],
  };
  const auth: AuditEvent = {
    kind: 'auth',
    time: NOW,
    outcome: 'rejected',
    reason: 'token Bearer abcdefghijklmnopqrstuvwxyz012345 expired',
  };
  const session: AuditEvent = { kind: 'session', time: NOW, sessionId: 's-1', action: 'created' };
  const unsampled: AuditEvent = { ...call, time: NOW, requestId: '8', outcome: 'tool-error', durationMs: 0 };
  return [
    { event: call, server, context: withSpan },
    { event: auth, server }, // the active context's span
    { event: session, server: { name: 'no-version' }, context: ROOT_CONTEXT },
    { event: unsampled, server, context: trace.setSpan(parent, trace.wrapSpanContext(INVALID_SPAN_CONTEXT)) },
  ];
}

/** Emits the events through `telemetry` and returns what the receiver decoded of them. */
async function exported(telemetry: Telemetry): Promise<{ records: ReceivedLogRecord[]; from: bigint; to: bigint }> {
  const seen = receiver.logRecords().length;
  const from = BigInt(Date.now()) * 1_000_000n;
  const active = trace.setSpan(
    ROOT_CONTEXT,
    trace.wrapSpanContext({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 0 }),
  );
  context.with(active, () => {
    for (const { event, server, context: given } of auditEvents(active)) telemetry.emit(event, server, given);
  });
  const to = BigInt(Date.now() + 1) * 1_000_000n;
  knownSecrets.remember(LATER_SECRET);
  await pipeline.forceFlush();
  return { records: receiver.logRecords().slice(seen), from, to };
}

/** A record with its event id and observed time (made per emit) checked and set aside. */
function comparable(
  record: ReceivedLogRecord,
  from: bigint,
  to: bigint,
): Omit<ReceivedLogRecord, 'observedTimeUnixNano'> {
  const { observedTimeUnixNano, ...rest } = record;
  const observed = BigInt(observedTimeUnixNano);
  assert.ok(observed >= from && observed <= to, `observed time ${observed} outside [${from}, ${to}]`);
  assert.match(rest.attributes['mcpwatch.event.id'] as string, /^[0-9a-f-]{36}$/);
  return { ...rest, attributes: { ...rest.attributes, 'mcpwatch.event.id': 'per event' } };
}

void test("mcpwatch's own audit records are on the wire exactly as the log SDK's emit put them", async () => {
  const registered = logs.getLoggerProvider();
  assert.ok(auditLogOf(registered), 'the pipeline registers its audit log for its logger provider');
  // The same provider behind another object: the Telemetry emits through the SDK's logger, as for any provider.
  const sameProviderViaSdk: LoggerProvider = {
    getLogger: (name, version, options) => registered.getLogger(name, version, options),
  };
  assert.equal(auditLogOf(sameProviderViaSdk), undefined);

  const lean = await exported(new Telemetry());
  const sdk = await exported(new Telemetry({ loggerProvider: sameProviderViaSdk }));

  assert.equal(lean.records.length, 4);
  assert.deepEqual(
    lean.records.map((record) => comparable(record, lean.from, lean.to)),
    sdk.records.map((record) => comparable(record, sdk.from, sdk.to)),
  );
  const [call, auth, session, unsampled] = lean.records;
  assert.equal(call?.timeUnixNano, String(Date.parse('2025-03-04T05:06:07.089Z') * 1_000_000));
  assert.equal(call?.traceId, '0af7651916cd43dd8448eb211c80319c');
  assert.equal(call?.flags, 1);
  assert.equal(auth?.spanId, '00f067aa0ba902b7');
  assert.equal(session?.traceId, '');
  assert.equal(session?.attributes['mcp.server.version'], undefined);
  assert.equal(unsampled?.traceId, '');
  assert.deepEqual(call?.scope, { name: 'mcpwatch', version: '0.2.0' });
  assert.equal(call?.resource['service.name'], 'audit-log-wire');
  assert.equal(call?.severityText, 'INFO');
  // Scrubbed at capture stays so; a credential learned since is removed at export, on either path.
  assert.doesNotMatch(JSON.stringify(auth?.body), /abcdefghijklmnop/);
  assert.match(String((call?.body as Record<string, unknown>)['arguments']), /key \[REDACTED\]/);
  assert.equal(receiver.allBytes().includes(LATER_SECRET), false);
  const ids = new Set([...lean.records, ...sdk.records].map((record) => record.attributes['mcpwatch.event.id']));
  assert.equal(ids.size, 8);
});
