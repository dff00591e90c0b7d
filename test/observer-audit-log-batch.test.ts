/**
 * mcpwatch's own audit records follow the standard `OTEL_BLRP_*` settings: batches of the configured size, and
 * beyond the queue bound (while an export is in flight) records are dropped rather than held.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTelemetryPipeline } from '../observer/export/pipeline.ts';
import { isoNow } from '../observer/event-time.ts';
import { Telemetry } from '../observer/telemetry.ts';
import { OtlpReceiver } from './support/otlp-receiver.ts';

void test('audit records are batched and bounded as OTEL_BLRP_* say', async () => {
  const receiver = new OtlpReceiver();
  process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = await receiver.start();
  process.env['OTEL_BLRP_MAX_EXPORT_BATCH_SIZE'] = '3';
  process.env['OTEL_BLRP_MAX_QUEUE_SIZE'] = '3';
  process.env['OTEL_BLRP_SCHEDULE_DELAY'] = '60000';
  const pipeline = startTelemetryPipeline();
  try {
    const telemetry = new Telemetry();
    const time = isoNow();
    // The third record fills a batch, which is exported at once; while it is in flight the queue takes three
    // more and drops the last two.
    for (let index = 0; index < 8; index++) {
      telemetry.emit({ kind: 'session', time, sessionId: `s-${index}`, action: 'created' }, { name: 'weather' });
    }
    await pipeline.forceFlush();
    const logs = receiver.bodies.filter((entry) => entry.path === '/v1/logs');
    assert.equal(logs.length, 2);
    assert.deepEqual(
      receiver.logRecords().map((record) => (record.body as { sessionId: string }).sessionId),
      ['s-0', 's-1', 's-2', 's-3', 's-4', 's-5'],
    );
  } finally {
    await pipeline.shutdown();
    await receiver.stop();
  }
});
