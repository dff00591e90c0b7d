/**
 * Turns OTLP spans and log records into `McpEvent`s, validated with the contract. Three outcomes per record:
 * an event; a dead letter with the reason (it parsed as OTLP but claims to be an MCP signal and cannot be made
 * into a valid event); or an intentional skip with the reason (telemetry that is not an MCP signal, or that
 * another record already carries). See collector/README.md for the mapping and the no-double-count rule.
 */
import { createHash } from 'node:crypto';
import { MCP_EVENT_SCHEMA_VERSION, type McpEvent, type ToolDefinition } from '../../contracts/mcp-event.ts';
import { describeIssues, parseMcpEvent } from '../../contracts/parse.ts';
import {
  ATTRIBUTES,
  AUDIT_EVENT_PREFIX,
  FLATTENED_VALUE_MARKER,
  RESOURCE_ATTRIBUTES,
  kindOfAuditEventName,
} from '../../contracts/signals.ts';
import {
  emptyAttributeMap,
  type AttributeMap,
  type AttributeValue,
  type OtlpExport,
  type OtlpLogRecord,
  type OtlpScope,
  type OtlpSpan,
} from '../otlp/model.ts';
import { sanitizeResourceUri } from '../../contracts/resource-uri.ts';

export type SkipReason =
  /** A span without `mcp.method.name`, or a log record that is not a `mcpwatch.*` audit event. */
  | 'not-mcp'
  /** An MCP client span: the call is recorded where it is received (the server span). */
  | 'client-span'
  /** A span from mcpwatch's own instrumentation: its `mcpwatch.call` audit log record carries the call. */
  | 'covered-by-audit-log';

export type Normalized =
  | { outcome: 'event'; event: McpEvent }
  | { outcome: 'dead-letter'; reason: string }
  | { outcome: 'skipped'; reason: SkipReason };

/** Semantic convention attribute names this mapping reads (OTel MCP and general conventions). */
const SEMCONV = {
  methodName: 'mcp.method.name',
  sessionId: 'mcp.session.id',
  protocolVersion: 'mcp.protocol.version',
  resourceUri: 'mcp.resource.uri',
  toolName: 'gen_ai.tool.name',
  promptName: 'gen_ai.prompt.name',
  requestId: 'jsonrpc.request.id',
  errorType: 'error.type',
  clientAddress: 'client.address',
  userAgent: 'user_agent.original',
  networkTransport: 'network.transport',
  networkProtocolName: 'network.protocol.name',
  eventName: 'event.name',
  serviceName: 'service.name',
  serviceVersion: 'service.version',
  serviceInstanceId: 'service.instance.id',
  hostName: 'host.name',
} as const;

const SPAN_KIND_CLIENT = 3;
const STATUS_CODE_ERROR = 2;

/** Instrumentation scopes named like this are mcpwatch's own (`mcpwatch`, `mcpwatch/instrumentation`, ...). */
export function isMcpwatchScope(scope: OtlpScope): boolean {
  return scope.name === 'mcpwatch' || scope.name.startsWith('mcpwatch/') || scope.name.startsWith('@mcpwatch/');
}

export function normalizeSpan(span: OtlpSpan, scope: OtlpScope, resource: AttributeMap): Normalized {
  const attributes = span.attributes;
  const method = text(attributes[SEMCONV.methodName]);
  if (method === undefined) return { outcome: 'skipped', reason: 'not-mcp' };
  if (isMcpwatchScope(scope)) return { outcome: 'skipped', reason: 'covered-by-audit-log' };
  if (span.kind === SPAN_KIND_CLIENT) return { outcome: 'skipped', reason: 'client-span' };
  if (span.traceId === '' || span.spanId === '') {
    return { outcome: 'dead-letter', reason: 'traceId/spanId: an MCP span needs both to derive its eventId' };
  }
  if (span.startTimeUnixNano === 0n) return { outcome: 'dead-letter', reason: 'startTimeUnixNano: missing' };

  const errorType = text(attributes[SEMCONV.errorType]);
  const failed = span.statusCode === STATUS_CODE_ERROR || errorType !== undefined;
  const event: Record<string, unknown> = {
    schemaVersion: MCP_EVENT_SCHEMA_VERSION,
    kind: 'call',
    eventId: `span:${span.traceId}:${span.spanId}`,
    time: isoTime(span.startTimeUnixNano),
    server: serverOf(attributes, resource),
  };
  optional(event, 'sessionId', text(attributes[SEMCONV.sessionId]));
  const client: Record<string, unknown> = {};
  optional(client, 'address', text(attributes[SEMCONV.clientAddress]));
  optional(client, 'userAgent', text(attributes[SEMCONV.userAgent]));
  if (client.address !== undefined || client.userAgent !== undefined) event.client = client;
  optional(event, 'transport', transportOf(attributes));
  event.traceId = span.traceId;
  event.spanId = span.spanId;
  event.method = method;
  optional(event, 'tool', text(attributes[SEMCONV.toolName]));
  optional(event, 'prompt', text(attributes[SEMCONV.promptName]));
  const resourceUri = text(attributes[SEMCONV.resourceUri]);
  optional(event, 'resourceUri', resourceUri === undefined ? undefined : sanitizeResourceUri(resourceUri));
  optional(event, 'requestId', scalarText(attributes[SEMCONV.requestId]));
  optional(event, 'protocolVersion', text(attributes[SEMCONV.protocolVersion]));
  event.outcome = failed ? (errorType === 'tool_error' ? 'tool-error' : 'error') : 'ok';
  optional(event, 'errorType', errorType ?? (failed ? 'error' : undefined));
  event.durationMs = Number(span.endTimeUnixNano - span.startTimeUnixNano) / 1e6;
  // Built here from typed values: only the lengths the contract bounds can be wrong. The contract is consulted
  // (for its exact message) only when they are.
  if (withinCallBounds(event)) return { outcome: 'event', event: event as McpEvent };
  return validated(event);
}

/**
 * The contract's bounds on what `normalizeSpan` builds (`CallEvent` in contracts/mcp-event.ts); ids, time,
 * kind, outcome and transport are correct by construction. A test checks that an event passing these passes
 * the contract unchanged.
 */
const CALL_STRING_BOUNDS: readonly (readonly [string, number])[] = [
  ['eventId', 256],
  ['sessionId', 1024],
  ['method', 256],
  ['tool', 512],
  ['prompt', 512],
  ['resourceUri', 2048],
  ['requestId', 256],
  ['protocolVersion', 64],
  ['errorType', 128],
];
const SERVER_STRING_BOUNDS: readonly (readonly [string, number])[] = [
  ['name', 256],
  ['version', 128],
  ['instanceId', 256],
  ['resource', 2048],
  ['host', 256],
];
const CLIENT_STRING_BOUNDS: readonly (readonly [string, number])[] = [
  ['address', 128],
  ['userAgent', 512],
];

function withinCallBounds(event: Record<string, unknown>): boolean {
  const durationMs = event.durationMs as number;
  if (!(durationMs >= 0)) return false;
  return (
    within(event, CALL_STRING_BOUNDS) &&
    within(event.server as Record<string, unknown>, SERVER_STRING_BOUNDS) &&
    (event.client === undefined || within(event.client as Record<string, unknown>, CLIENT_STRING_BOUNDS))
  );
}

function within(fields: Record<string, unknown>, bounds: readonly (readonly [string, number])[]): boolean {
  for (const [name, max] of bounds) {
    const value = fields[name];
    if (value !== undefined && (value as string).length > max) return false;
  }
  return true;
}

function optional(target: Record<string, unknown>, key: string, value: unknown): void {
  if (value !== undefined) target[key] = value;
}

export function normalizeLogRecord(record: OtlpLogRecord, _scope: OtlpScope, resource: AttributeMap): Normalized {
  const attributes = record.attributes;
  const name = record.eventName !== '' ? record.eventName : text(attributes[SEMCONV.eventName]);
  if (name === undefined || !name.startsWith(AUDIT_EVENT_PREFIX)) return { outcome: 'skipped', reason: 'not-mcp' };
  const kind = kindOfAuditEventName(name);
  if (kind === undefined)
    return { outcome: 'dead-letter', reason: `eventName: unknown mcpwatch audit event "${name}"` };
  const body = record.body;
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { outcome: 'dead-letter', reason: `body: expected a map with the fields of a ${kind} event` };
  }
  const time = record.timeUnixNano !== 0n ? record.timeUnixNano : record.observedTimeUnixNano;
  const normalized = validated({
    traceId: record.traceId === '' ? undefined : record.traceId,
    spanId: record.spanId === '' ? undefined : record.spanId,
    time: time === 0n ? undefined : isoTime(time),
    ...body,
    schemaVersion: MCP_EVENT_SCHEMA_VERSION,
    kind,
    eventId: text(attributes[ATTRIBUTES.eventId]) ?? derivedEventId(name, record),
    server: serverOf(attributes, resource),
  });
  if (normalized.outcome === 'event' && normalized.event.kind === 'tool-catalog') {
    for (const tool of normalized.event.tools) measureDefinition(tool);
  }
  return normalized;
}

/**
 * Marks how deep a tool definition nests and whether part of it was flattened (by the exporter or while
 * decoding), so that an abnormally deep or cut definition is visible to the rules instead of hiding its server.
 */
function measureDefinition(tool: ToolDefinition): void {
  const { hash: _hash, ...definition } = tool;
  const measured = depthOf(definition);
  tool.maxDepth = measured.depth;
  if (measured.flattened || tool.flattened === true) tool.flattened = true;
}

/** Depth of nested objects and arrays (a scalar is 0); values are already depth-bounded by the decoder. */
function depthOf(value: unknown): { depth: number; flattened: boolean } {
  // The marker stands for at least one more level.
  if (value === FLATTENED_VALUE_MARKER) return { depth: 1, flattened: true };
  if (typeof value !== 'object' || value === null) return { depth: 0, flattened: false };
  let deepest = 0;
  let flattened = false;
  for (const item of Array.isArray(value) ? value : Object.values(value)) {
    const inner = depthOf(item);
    if (inner.depth > deepest) deepest = inner.depth;
    flattened ||= inner.flattened;
  }
  return { depth: deepest + 1, flattened };
}

function validated(candidate: Record<string, unknown>): Normalized {
  const result = parseMcpEvent(defined(candidate));
  return result.ok
    ? { outcome: 'event', event: result.value }
    : { outcome: 'dead-letter', reason: describeIssues(result.issues) };
}

function serverOf(attributes: AttributeMap, resource: AttributeMap): Record<string, unknown> {
  const server: Record<string, unknown> = {
    name: text(attributes[ATTRIBUTES.serverName]) ?? text(resource[SEMCONV.serviceName]) ?? 'unknown',
  };
  optional(server, 'version', text(attributes[ATTRIBUTES.serverVersion]) ?? text(resource[SEMCONV.serviceVersion]));
  optional(server, 'instanceId', text(resource[SEMCONV.serviceInstanceId]));
  optional(server, 'resource', text(resource[RESOURCE_ATTRIBUTES.serverResource]));
  optional(server, 'host', text(resource[SEMCONV.hostName]));
  return server;
}

/** `network.transport` `pipe` is stdio; HTTP over TCP/QUIC is taken as Streamable HTTP (SSE looks the same). */
function transportOf(attributes: AttributeMap): string | undefined {
  const transport = text(attributes[SEMCONV.networkTransport]);
  if (transport === 'pipe') return 'stdio';
  if ((transport === 'tcp' || transport === 'quic') && text(attributes[SEMCONV.networkProtocolName]) === 'http') {
    return 'streamable-http';
  }
  return undefined;
}

/** Stable across an exporter's retries of the same record, for records without `mcpwatch.event.id`. */
function derivedEventId(name: string, record: OtlpLogRecord): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([name, String(record.timeUnixNano), record.traceId, record.spanId, record.body]))
    .digest('hex');
  return `log:${digest.slice(0, 32)}`;
}

function isoTime(unixNano: bigint): string {
  return new Date(Number(unixNano / 1_000_000n)).toISOString();
}

function text(value: AttributeValue | undefined): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function scalarText(value: AttributeValue | undefined): string | undefined {
  return typeof value === 'number' ? String(value) : text(value);
}

/**
 * Drops `undefined` fields: the contract's optional fields must be absent, not undefined. Null-prototype, as
 * a log body's keys (spread in) are the exporter's, `__proto__` included.
 */
function defined(fields: Record<string, unknown>): Record<string, unknown> {
  const out = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(fields)) if (fields[key] !== undefined) out[key] = fields[key];
  return out;
}

/** What could not be normalized: the record as decoded (bigints as decimal strings), where it came from, why. */
export interface DeadLetter {
  signal: 'span' | 'log';
  reason: string;
  record: unknown;
  scope: { name: string; version: string };
  resource: AttributeMap;
}

export interface NormalizedBatch {
  events: McpEvent[];
  deadLetters: DeadLetter[];
  skipped: Partial<Record<SkipReason, number>>;
}

export function normalizeTraces(traces: OtlpExport<OtlpSpan>): NormalizedBatch {
  return normalizeExport(traces, 'span', normalizeSpan);
}

export function normalizeLogs(logs: OtlpExport<OtlpLogRecord>): NormalizedBatch {
  return normalizeExport(logs, 'log', normalizeLogRecord);
}

function normalizeExport<T>(
  request: OtlpExport<T>,
  signal: DeadLetter['signal'],
  normalize: (record: T, scope: OtlpScope, resource: AttributeMap) => Normalized,
): NormalizedBatch {
  const batch: NormalizedBatch = { events: [], deadLetters: [], skipped: {} };
  for (const rejected of request.rejected) {
    batch.deadLetters.push({
      signal,
      reason: rejected.reason,
      record: { entry: rejected.entry, bytes: rejected.bytes, excerptBase64: rejected.excerpt },
      scope: { name: '', version: '' },
      resource: emptyAttributeMap(),
    });
  }
  for (const { resource, scopes } of request.resources) {
    for (const { scope, records } of scopes) {
      for (const record of records) {
        const normalized = normalize(record, scope, resource);
        if (normalized.outcome === 'event') batch.events.push(normalized.event);
        else if (normalized.outcome === 'skipped') {
          batch.skipped[normalized.reason] = (batch.skipped[normalized.reason] ?? 0) + 1;
        } else {
          batch.deadLetters.push({
            signal,
            reason: normalized.reason,
            record: jsonSafe(record),
            scope: { name: scope.name, version: scope.version },
            resource,
          });
        }
      }
    }
  }
  return batch;
}

function jsonSafe(record: unknown): unknown {
  if (typeof record !== 'object' || record === null) return record;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) out[key] = typeof value === 'bigint' ? value.toString() : value;
  return out;
}
