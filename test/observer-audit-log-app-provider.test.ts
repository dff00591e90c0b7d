/**
 * An application that registered its own logger provider before mcpwatch's pipeline started keeps receiving
 * mcpwatch's audit records through its own log SDK (its processors see them), as any instrumentation's.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { logs } from '@opentelemetry/api-logs';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { auditLogOf } from '../observer/export/audit-log.ts';
import { startTelemetryPipeline } from '../observer/export/pipeline.ts';
import { isoNow } from '../observer/event-time.ts';
import { Telemetry } from '../observer/telemetry.ts';

void test("audit records go to the application's own logger provider when it registered one first", async () => {
  const exporter = new InMemoryLogRecordExporter();
  const applicationProvider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter })] });
  logs.setGlobalLoggerProvider(applicationProvider);
  const pipeline = startTelemetryPipeline();
  try {
    assert.equal(logs.getLoggerProvider(), applicationProvider);
    assert.equal(auditLogOf(applicationProvider), undefined);
    const time = isoNow();
    new Telemetry().emit({ kind: 'session', time, sessionId: 's-1', action: 'created' }, { name: 'weather' });
    const [record] = exporter.getFinishedLogRecords();
    assert.equal(record?.eventName, 'mcpwatch.session');
    assert.equal(record?.instrumentationScope.name, 'mcpwatch');
    assert.deepEqual(record?.body, { kind: 'session', time, sessionId: 's-1', action: 'created' });
    assert.equal(record?.attributes['mcp.server.name'], 'weather');
  } finally {
    await Promise.all([pipeline.shutdown(), applicationProvider.shutdown()]);
  }
});
