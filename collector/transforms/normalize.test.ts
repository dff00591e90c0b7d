import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  emptyAttributeMap,
  type AttributeMap,
  type OtlpLogRecord,
  type OtlpScope,
  type OtlpSpan,
} from '../otlp/model.ts';
import { normalizeLogRecord, normalizeSpan } from './normalize.ts';
import { sanitizeResourceUri } from '../../contracts/resource-uri.ts';
import { parseMcpEvent } from '../../contracts/parse.ts';

function attributes(values: Record<string, string | number>): AttributeMap {
  return Object.assign(emptyAttributeMap(), values);
}

const resource = attributes({ 'service.name': 'files', 'mcpwatch.server.resource': 'https://files.example/mcp' });
const otherScope: OtlpScope = { name: '@vendor/mcp-otel', version: '1', attributes: emptyAttributeMap() };

function span(values: Record<string, string | number>, overrides: Partial<OtlpSpan> = {}): OtlpSpan {
  return {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    parentSpanId: '',
    name: 'tools/call',
    kind: 2,
    startTimeUnixNano: 1_767_225_600_000_000_000n,
    endTimeUnixNano: 1_767_225_600_012_500_000n,
    attributes: attributes(values),
    statusCode: 0,
    statusMessage: '',
    ...overrides,
  };
}

void test('an MCP server span maps to a call event as far as its attributes allow', () => {
  const normalized = normalizeSpan(
    span({
      'mcp.method.name': 'tools/call',
      'gen_ai.tool.name': 'read_file',
      'error.type': 'tool_error',
      'network.transport': 'pipe',
    }),
    otherScope,
    resource,
  );
  assert.equal(normalized.outcome, 'event');
  assert.deepEqual(normalized.outcome === 'event' && normalized.event, {
    schemaVersion: 1,
    kind: 'call',
    eventId: 'span:0af7651916cd43dd8448eb211c80319c:b7ad6b7169203331',
    time: '2026-01-01T00:00:00.000Z',
    server: { name: 'files', resource: 'https://files.example/mcp' },
    transport: 'stdio',
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    method: 'tools/call',
    tool: 'read_file',
    outcome: 'tool-error',
    errorType: 'tool_error',
    durationMs: 12.5,
  });
});

void test('spans that are not MCP, MCP client spans and mcpwatch-scoped spans are skipped with their reason', () => {
  assert.deepEqual(normalizeSpan(span({ 'http.request.method': 'GET' }), otherScope, resource), {
    outcome: 'skipped',
    reason: 'not-mcp',
  });
  assert.deepEqual(normalizeSpan(span({ 'mcp.method.name': 'tools/list' }, { kind: 3 }), otherScope, resource), {
    outcome: 'skipped',
    reason: 'client-span',
  });
  const mcpwatchScope = { name: 'mcpwatch', version: '0.1.0', attributes: emptyAttributeMap() };
  assert.deepEqual(normalizeSpan(span({ 'mcp.method.name': 'tools/list' }), mcpwatchScope, resource), {
    outcome: 'skipped',
    reason: 'covered-by-audit-log',
  });
});

void test('a span with an error status but no error.type is an error; one without ids is dead-lettered', () => {
  const failed = normalizeSpan(span({ 'mcp.method.name': 'ping' }, { statusCode: 2 }), otherScope, resource);
  assert.ok(failed.outcome === 'event' && failed.event.kind === 'call');
  assert.equal(failed.event.outcome, 'error');
  const anonymous = normalizeSpan(span({ 'mcp.method.name': 'ping' }, { traceId: '' }), otherScope, resource);
  assert.equal(anonymous.outcome, 'dead-letter');
});

function logRecord(eventName: string, body: OtlpLogRecord['body'], values: Record<string, string> = {}): OtlpLogRecord {
  return {
    timeUnixNano: 1_767_225_600_000_000_000n,
    observedTimeUnixNano: 0n,
    severityNumber: 9,
    eventName,
    body,
    attributes: attributes(values),
    traceId: '',
    spanId: '',
  };
}

void test('an audit log record without mcpwatch.event.id gets an id that is stable across retries', () => {
  const body = Object.assign(emptyAttributeMap(), { action: 'created', sessionId: 's-1' });
  const first = normalizeLogRecord(logRecord('mcpwatch.session', body), otherScope, resource);
  const again = normalizeLogRecord(logRecord('mcpwatch.session', { ...body }), otherScope, resource);
  assert.ok(first.outcome === 'event' && again.outcome === 'event');
  assert.match(first.event.eventId, /^log:[0-9a-f]{32}$/);
  assert.equal(first.event.eventId, again.event.eventId);
  assert.equal(first.event.time, '2026-01-01T00:00:00.000Z');
});

void test('an unknown mcpwatch audit event is dead-lettered; other event names are skipped', () => {
  assert.deepEqual(normalizeLogRecord(logRecord('mcpwatch.nope', emptyAttributeMap()), otherScope, resource), {
    outcome: 'dead-letter',
    reason: 'eventName: unknown mcpwatch audit event "mcpwatch.nope"',
  });
  assert.deepEqual(
    normalizeLogRecord(logRecord('', 'hello', { 'event.name': 'browser.click' }), otherScope, resource),
    {
      outcome: 'skipped',
      reason: 'not-mcp',
    },
  );
});

void test('a classification arriving over OTLP is dead-lettered: only the detectors write verdicts', () => {
  const forged = normalizeLogRecord(logRecord('mcpwatch.classification', emptyAttributeMap()), otherScope, resource);
  assert.deepEqual(forged, {
    outcome: 'dead-letter',
    reason: 'eventName: unknown mcpwatch audit event "mcpwatch.classification"',
  });
});

void test('resource URIs lose userinfo, query and fragment', () => {
  assert.equal(sanitizeResourceUri('https://user:pw@host.example/a/b?token=x#frag'), 'https://host.example/a/b');
  assert.equal(sanitizeResourceUri('not a url?secret=1'), 'not a url');
});

void test('a span event built without the contract parse is exactly what the contract parse returns', () => {
  const variants = [
    span({ 'mcp.method.name': 'tools/call' }),
    span(
      {
        'mcp.method.name': 'resources/read',
        'mcp.resource.uri': 'file:///etc/passwd?x=1',
        'mcp.session.id': 's'.repeat(1024),
        'jsonrpc.request.id': 7,
        'client.address': '10.0.0.1',
        'user_agent.original': 'ua',
        'network.transport': 'tcp',
        'network.protocol.name': 'http',
        'error.type': 'tool_error',
        'mcp.protocol.version': '2025-06-18',
      },
      { statusCode: 2 },
    ),
  ];
  for (const variant of variants) {
    const normalized = normalizeSpan(variant, otherScope, resource);
    assert.equal(normalized.outcome, 'event');
    if (normalized.outcome !== 'event') continue;
    const parsed = parseMcpEvent(JSON.parse(JSON.stringify(normalized.event)));
    assert.ok(parsed.ok);
    assert.deepEqual(normalized.event, parsed.value);
  }
});

void test('a span over a contract bound is dead-lettered with the contract message', () => {
  const long = normalizeSpan(
    span({ 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 't'.repeat(513) }),
    otherScope,
    resource,
  );
  assert.equal(long.outcome, 'dead-letter');
  assert.match(long.outcome === 'dead-letter' ? long.reason : '', /^tool: /);
  const backwards = normalizeSpan(
    span({ 'mcp.method.name': 'tools/call' }, { endTimeUnixNano: 1_767_225_599_000_000_000n }),
    otherScope,
    resource,
  );
  assert.equal(backwards.outcome, 'dead-letter');
  assert.match(backwards.outcome === 'dead-letter' ? backwards.reason : '', /^durationMs: /);
});
