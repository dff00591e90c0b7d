/**
 * `instrument()` on real SDK servers behind the SDK's own bearer-auth middleware over Streamable HTTP (stateful
 * and stateless), exported by the real OTLP/HTTP protobuf pipeline to a local receiver. Proves: every audit
 * event satisfies the McpEvent contract after the collector's mapping; the identity, session, catalog, call and
 * outbound facts a detector needs are there; spans follow the MCP conventions; and no raw token or cookie
 * value appears anywhere in the exported bytes, although the test pushes them through arguments, results,
 * errors, headers and outbound requests.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import canonicalize from 'canonicalize';
import express from 'express';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { instrument, instrumentVerifier } from '../instrumentation/index.ts';
import { startTelemetryPipeline } from '../observer/export/pipeline.ts';
import type { TelemetryPipeline } from '../observer/export/pipeline.ts';
import { metrics } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { OtlpReceiver } from './support/otlp-receiver.ts';
import type { ReceivedLogRecord } from './support/otlp-receiver.ts';
import type { McpEvent, McpEventKind } from '../contracts/mcp-event.ts';
import { parseMcpEvent } from '../contracts/parse.ts';

const HMAC_KEY = 'test-only-hmac-key-0123456789abcdef';
const RESOURCE = 'http://127.0.0.1/mcp';
const ISSUER = 'https://issuer.example';
process.env['MCPWATCH_HMAC_KEY'] = HMAC_KEY;
process.env['MCPWATCH_RESOURCE'] = RESOURCE;
process.env['MCPWATCH_CAPTURE_CONTENT'] = 'true';
process.env['OTEL_SERVICE_NAME'] = 'instrumentation-http-test';

/** A JWT-shaped token (unsigned: the test verifier trusts its own list) with fake but realistic claims. */
function fakeJwt(claims: Record<string, unknown>): string {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'at+jwt' })}.${part(claims)}.${randomUUID().replaceAll('-', '')}FAKESIG`;
}
const now = Math.floor(Date.now() / 1000);
const ALICE = fakeJwt({
  iss: ISSUER,
  sub: 'alice',
  aud: RESOURCE,
  azp: 'client-a',
  scope: 'tools:call',
  exp: now + 3600,
  iat: now,
});
const MALLORY = fakeJwt({
  iss: ISSUER,
  sub: 'mallory',
  aud: 'https://other.example/mcp',
  azp: 'client-m',
  scope: 'tools:call',
  exp: now + 3600,
  iat: now,
});
const REJECTED = `opaque-rejected-${randomUUID()}`;
const UPSTREAM = `upstream-secret-${randomUUID()}`;
const COOKIE = `cookie-secret-${randomUUID()}`;
const SECRETS = { ALICE, MALLORY, REJECTED, UPSTREAM, COOKIE };

const hmac = (value: string): string => `hmac-sha256:${createHmac('sha256', HMAC_KEY).update(value).digest('hex')}`;
const sha256 = (value: unknown): string =>
  `sha256:${createHash('sha256')
    .update(canonicalize(value) ?? '')
    .digest('hex')}`;

const verifier = instrumentVerifier(
  {
    verifyAccessToken(token: string): Promise<AuthInfo> {
      const subject = token === ALICE ? 'alice' : token === MALLORY ? 'mallory' : undefined;
      // The verifier's error quotes the token: the export filter must still keep it out.
      if (subject === undefined) return Promise.reject(new InvalidTokenError(`unknown token ${token}`));
      return Promise.resolve({
        token,
        clientId: subject === 'alice' ? 'client-a' : 'client-m',
        scopes: ['tools:call'],
        expiresAt: now + 3600,
      });
    },
  },
  { serverName: 'http-fixture' },
);

let upstreamUrl = '';

function mcpServer(instrumentTwice: boolean): McpServer {
  const server = new McpServer({ name: 'http-fixture', version: '2.0.0' }, { instructions: 'Be careful.' });
  server.tool('echo', 'Echoes its text.', { text: z.string() }, ({ text }) => ({ content: [{ type: 'text', text }] }));
  server.tool('fail', 'Always a tool error.', () => ({ content: [{ type: 'text', text: 'nope' }], isError: true }));
  server.tool('throws', 'Throws with a secret in the message.', { text: z.string() }, ({ text }) => {
    throw new Error(`upstream refused ${text}`);
  });
  server.tool('passthrough', 'Calls upstream with a bearer token.', async () => {
    const response = await fetch(upstreamUrl, { headers: { authorization: `Bearer ${UPSTREAM}` } });
    return { content: [{ type: 'text', text: await response.text() }] };
  });
  server.prompt('greet', 'Greets.', () => ({ messages: [{ role: 'user', content: { type: 'text', text: 'hi' } }] }));
  server.resource('config', 'config://app/settings', () => ({
    contents: [{ uri: 'config://app/settings', text: 'x=1' }],
  }));
  instrument(server);
  if (instrumentTwice) instrument(server);
  return server;
}

let receiver: OtlpReceiver;
let pipeline: TelemetryPipeline;
const metricReader = new PeriodicExportingMetricReader({
  exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
  exportIntervalMillis: 60_000,
});
let http: HttpServer;
let upstream: HttpServer;
let mcpUrl: URL;
let statelessUrl: URL;
let openUrl: URL;
const transports = new Map<string, StreamableHTTPServerTransport>();

before(async () => {
  receiver = new OtlpReceiver();
  process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = await receiver.start();
  pipeline = startTelemetryPipeline();
  // The application's own meter provider: the MCP duration histograms are recorded into it.
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [metricReader] }));

  upstream = createServer((_request, response) => response.end('upstream ok'));
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/api`;

  const app = express();
  app.use(express.json());
  const auth = requireBearerAuth({ verifier });
  app.all('/mcp', auth, async (request: Request, response: Response) => {
    const sessionId = request.headers['mcp-session-id'];
    let transport = typeof sessionId === 'string' ? transports.get(sessionId) : undefined;
    if (transport === undefined) {
      const created = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => void transports.set(id, created),
      });
      await mcpServer(true).connect(created);
      transport = created;
    }
    await transport.handleRequest(request, response, request.body);
  });
  app.post('/stateless', auth, async (request: Request, response: Response) => {
    const transport = new StreamableHTTPServerTransport({});
    await mcpServer(false).connect(transport);
    await transport.handleRequest(request, response, request.body);
  });
  // No auth middleware: a bearer header reaches the server unverified.
  app.post('/open', async (request: Request, response: Response) => {
    const transport = new StreamableHTTPServerTransport({});
    await mcpServer(false).connect(transport);
    await transport.handleRequest(request, response, request.body);
  });
  http = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => http.once('listening', resolve));
  const port = (http.address() as AddressInfo).port;
  mcpUrl = new URL(`http://127.0.0.1:${port}/mcp`);
  statelessUrl = new URL(`http://127.0.0.1:${port}/stateless`);
  openUrl = new URL(`http://127.0.0.1:${port}/open`);
});

after(async () => {
  await pipeline.shutdown();
  http.closeAllConnections();
  upstream.closeAllConnections();
  await Promise.all([
    new Promise((resolve) => http.close(resolve)),
    new Promise((resolve) => upstream.close(resolve)),
    receiver.stop(),
  ]);
});

function clientTransport(url: URL, token: string, sessionId?: string): StreamableHTTPClientTransport {
  return new StreamableHTTPClientTransport(url, {
    requestInit: { headers: { authorization: `Bearer ${token}`, cookie: `theme=dark; session=${COOKIE}` } },
    ...(sessionId === undefined ? {} : { sessionId }),
  });
}

interface Exported {
  events: McpEvent[];
  records: ReceivedLogRecord[];
}

/** Runs the whole scenario once; the tests below each check one property of what was exported. */
async function scenario(): Promise<
  Exported & { sessionId: string; traceId: string; parentSpanId: string; servedTools: unknown[] }
> {
  const alice = new Client({ name: 'alice-client', version: '1.0.0' });
  const aliceTransport = clientTransport(mcpUrl, ALICE);
  await alice.connect(aliceTransport);
  const sessionId = aliceTransport.sessionId ?? assert.fail('no session id');
  const listed = await alice.listTools();
  const traceId = randomUUID().replaceAll('-', '');
  const parentSpanId = traceId.slice(0, 16);
  await alice.callTool({
    name: 'echo',
    arguments: { text: `token ${ALICE} cookie ${COOKIE}` },
    _meta: { traceparent: `00-${traceId}-${parentSpanId}-01` },
  });
  await alice.callTool({ name: 'fail', arguments: {} });
  await alice.callTool({ name: 'passthrough', arguments: {} });
  // Now a known credential (it was sent upstream as a bearer token): it must not surface through an error text.
  await alice.callTool({ name: 'throws', arguments: { text: UPSTREAM } });
  await alice.getPrompt({ name: 'greet' });
  await alice.readResource({ uri: 'config://app/settings' });
  await assert.rejects(alice.request({ method: 'no/such/method', params: {} }, z.object({})));

  // Mallory reuses Alice's session id with her own (valid) token.
  const mallory = new Client({ name: 'mallory-client', version: '1.0.0' });
  await mallory.connect(clientTransport(mcpUrl, MALLORY, sessionId));
  await mallory.listTools();

  const rejected = await fetch(mcpUrl, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${REJECTED}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
  assert.equal(rejected.status, 401);

  const stateless = new Client({ name: 'stateless-client', version: '1.0.0' });
  await stateless.connect(clientTransport(statelessUrl, ALICE));
  await stateless.listTools();

  const open = new Client({ name: 'open-client', version: '1.0.0' });
  await open.connect(clientTransport(openUrl, MALLORY));
  await open.listTools();

  await aliceTransport.terminateSession();
  await Promise.all([alice.close(), mallory.close(), stateless.close(), open.close()]);
  await pipeline.forceFlush();

  const records = receiver.logRecords();
  const events = records.map((record) => {
    const parsed = parseMcpEvent({
      ...(record.body as Record<string, unknown>),
      schemaVersion: 1,
      eventId: record.attributes['mcpwatch.event.id'],
      server: { name: record.attributes['mcp.server.name'], version: record.attributes['mcp.server.version'] },
    });
    assert.ok(parsed.ok, `${record.eventName}: ${JSON.stringify(parsed)}`);
    return parsed.value;
  });
  return { events, records, sessionId, traceId, parentSpanId, servedTools: listed.tools };
}

let run: Awaited<ReturnType<typeof scenario>>;

function ofKind<K extends McpEventKind>(kind: K): Extract<McpEvent, { kind: K }>[] {
  return run.events.filter((event): event is Extract<McpEvent, { kind: K }> => event.kind === kind);
}

void describe('instrument() over Streamable HTTP with bearer auth', () => {
  before(async () => {
    run = await scenario();
  });

  void it('exports audit events that map back to McpEvents, one event name per kind', () => {
    const kinds = new Set(run.events.map((event) => event.kind));
    assert.deepEqual([...kinds].sort(), ['auth', 'call', 'outbound-request', 'session', 'tool-catalog']);
    for (const record of run.records) {
      assert.equal(record.attributes['event.name'], record.eventName);
      assert.match(record.attributes['mcpwatch.event.id'] as string, /^[0-9a-f-]{36}$/);
    }
    assert.equal(run.records[0]?.resource['mcpwatch.server.resource'], RESOURCE);
  });

  void it('never exports a raw token or cookie value, in any byte', () => {
    const bytes = receiver.allBytes();
    assert.ok(bytes.length > 1000);
    for (const [name, secret] of Object.entries(SECRETS)) {
      assert.equal(bytes.includes(Buffer.from(secret)), false, `${name} leaked`);
      // Fragments too: a JWT's signature or payload alone would still identify the token.
      for (const part of secret.split('.'))
        assert.equal(bytes.includes(Buffer.from(part)), false, `${name} part leaked`);
    }
  });

  void it('describes accepted, mismatched and rejected tokens by claims and keyed fingerprints', () => {
    const auth = ofKind('auth');
    const accepted = auth.find((event) => event.outcome === 'accepted' && event.token?.fingerprint === hmac(ALICE));
    assert.ok(accepted);
    assert.equal(accepted.token?.issuer, ISSUER);
    assert.deepEqual(accepted.token?.audience, [RESOURCE]);
    assert.equal(accepted.token?.authorizedParty, 'client-a');
    assert.deepEqual(accepted.token?.scopes, ['tools:call']);
    assert.equal(accepted.audienceMatchesServer, true);
    assert.deepEqual(accepted.principal, { id: hmac(`${ISSUER}\nalice`), pseudonymous: true, issuer: ISSUER });
    const mallory = auth.find((event) => event.outcome === 'accepted' && event.token?.fingerprint === hmac(MALLORY));
    assert.equal(mallory?.audienceMatchesServer, false);
    const unverified = auth.find((event) => event.outcome === 'unverified-bearer');
    assert.equal(unverified?.token?.fingerprint, hmac(MALLORY));
    assert.equal(unverified.principal, undefined);
    const rejected = auth.find((event) => event.outcome === 'rejected');
    assert.equal(rejected?.token?.fingerprint, hmac(REJECTED));
    assert.match(rejected?.reason ?? '', /unknown token \[REDACTED\]/);
  });

  void it('records session creation with an id assessment, the principal mismatch and the close', () => {
    const sessions = ofKind('session').filter((event) => event.sessionId === run.sessionId);
    const created = sessions.find((event) => event.action === 'created');
    assert.deepEqual(created?.idAssessment, {
      length: 36,
      charset: 'base64url',
      entropyBits: created?.idAssessment?.entropyBits,
      sequential: false,
    });
    assert.ok((created?.idAssessment?.entropyBits ?? 0) > 100);
    assert.match(created?.boundClientAddress ?? '', /127\.0\.0\.1/);
    assert.equal(created?.principal?.id, hmac(`${ISSUER}\nalice`));
    const mismatch = sessions.find((event) => event.action === 'principal-mismatch');
    assert.equal(mismatch?.principal?.id, hmac(`${ISSUER}\nmallory`));
    assert.equal(mismatch?.boundPrincipalId, hmac(`${ISSUER}\nalice`));
    assert.ok(sessions.some((event) => event.action === 'closed'));
  });

  void it('records every call once with outcome, target, principal and session, even when instrumented twice', () => {
    const calls = ofKind('call').filter((event) => event.sessionId === run.sessionId);
    const echo = calls.filter((event) => event.tool === 'echo');
    assert.equal(echo.length, 1);
    assert.equal(echo[0]?.outcome, 'ok');
    assert.equal(echo[0]?.tokenFingerprint, hmac(ALICE));
    assert.equal(echo[0]?.authenticated, true);
    assert.equal(echo[0]?.traceId, run.traceId);
    assert.match(echo[0]?.arguments ?? '', /token \[REDACTED\] cookie \[REDACTED\]/);
    assert.equal(calls.find((event) => event.tool === 'fail')?.errorType, 'tool_error');
    assert.equal(calls.find((event) => event.tool === 'fail')?.outcome, 'tool-error');
    assert.equal(calls.find((event) => event.method === 'no/such/method')?.errorType, '-32601');
    assert.equal(calls.find((event) => event.method === 'prompts/get')?.prompt, 'greet');
    assert.equal(calls.find((event) => event.method === 'resources/read')?.resourceUri, 'config://app/settings');
    const stateless = ofKind('call').filter((event) => event.sessionId === undefined && event.method === 'tools/list');
    assert.ok(stateless.length >= 1);
  });

  void it('snapshots the served tool catalog with RFC 8785 hashes and the principal it was served to', () => {
    const catalogs = ofKind('tool-catalog').filter((event) => event.sessionId === run.sessionId);
    const served = catalogs.find((event) => event.principal?.id === hmac(`${ISSUER}\nalice`));
    assert.ok(served);
    assert.equal(served.trigger, 'tools/list');
    assert.deepEqual(served.tools.map((tool) => tool.name).sort(), ['echo', 'fail', 'passthrough', 'throws']);
    // The hash covers the definition exactly as the client received it.
    const echo = served.tools.find((tool) => tool.name === 'echo');
    assert.equal(echo?.hash, sha256(run.servedTools.find((tool) => (tool as { name?: string }).name === 'echo')));
    assert.equal(echo.description, 'Echoes its text.');
    assert.deepEqual(
      echo.inputSchema,
      (run.servedTools.find((tool) => (tool as { name?: string }).name === 'echo') as { inputSchema?: unknown })
        .inputSchema,
    );
    const byName = [...served.tools].sort((a, b) => a.name.localeCompare(b.name));
    assert.equal(served.listHash, sha256(byName.map((tool) => tool.hash)));
    assert.equal(served.instructions, 'Be careful.');
    assert.equal(served.instructionsHash, sha256('Be careful.'));
    assert.ok(catalogs.some((event) => event.principal?.id === hmac(`${ISSUER}\nmallory`)));
  });

  void it('reports a bearer token the server passes on to another host, by fingerprint and host only', () => {
    // The test's own MCP clients are outbound bearer requests of this process too; the tool's goes upstream.
    const upstreamHost = new URL(upstreamUrl).host;
    const outbound =
      ofKind('outbound-request').find((event) => event.destinationHost === upstreamHost) ??
      assert.fail('no outbound-request event');
    assert.equal(outbound.tokenFingerprint, hmac(UPSTREAM));
    assert.equal(outbound.destinationHost, new URL(upstreamUrl).host);
    assert.equal(outbound.sessionId, run.sessionId);
    assert.equal(outbound.principal?.id, hmac(`${ISSUER}\nalice`));
  });

  void it('exports SERVER spans following the MCP conventions, parented by params._meta.traceparent', () => {
    const spans = receiver.spans();
    const echo = spans.find((span) => span.name === 'tools/call echo' && span.traceId === run.traceId);
    assert.ok(echo, spans.map((span) => span.name).join(', '));
    assert.equal(echo.parentSpanId, run.parentSpanId);
    assert.equal(echo.kind, 2);
    assert.equal(echo.attributes['mcp.method.name'], 'tools/call');
    assert.equal(echo.attributes['mcp.session.id'], run.sessionId);
    assert.equal(echo.attributes['gen_ai.tool.name'], 'echo');
    assert.equal(echo.attributes['gen_ai.operation.name'], 'execute_tool');
    assert.equal(echo.attributes['network.transport'], 'tcp');
    assert.match(echo.attributes['client.address'] as string, /127\.0\.0\.1/);
    assert.equal(typeof echo.attributes['jsonrpc.request.id'], 'string');
    assert.equal(typeof echo.attributes['mcp.protocol.version'], 'string');
    const fail = spans.find((span) => span.name === 'tools/call fail');
    assert.equal(fail?.attributes['error.type'], 'tool_error');
    assert.equal(fail.status.code, 2);
    const unknown = spans.find((span) => span.name === 'no/such/method');
    assert.equal(unknown?.attributes['rpc.response.status_code'], '-32601');
    assert.equal(
      spans.find((span) => span.name === 'resources/read')?.attributes['mcp.resource.uri'],
      'config://app/settings',
    );
  });

  void it("records the MCP duration histograms into the application's meter provider", async () => {
    const { resourceMetrics } = await metricReader.collect();
    const names = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics.map((m) => m.descriptor.name));
    assert.ok(names.includes('mcp.server.operation.duration'), names.join(', '));
    assert.ok(names.includes('mcp.server.session.duration'), names.join(', '));
  });
});
