/**
 * The observer on 2026-07-28 traffic, fed recorded messages (the shapes of the specification's own examples):
 * per-request identity from `_meta`, the HTTP metadata headers next to the body, `server/discover`, a list
 * change on a `subscriptions/listen` stream, `InputRequiredResult` input requests, and no session events.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { parseMcpEvent } from '../contracts/parse.ts';
import { ConnectionObserver } from './connection-observer.ts';
import { Telemetry } from './telemetry.ts';
import type { InboundContext } from './types.ts';

const VERSION = '2026-07-28';
const meta = (client = 'ExampleClient', capabilities: object = { elicitation: { form: {}, url: {} } }) => ({
  'io.modelcontextprotocol/protocolVersion': VERSION,
  'io.modelcontextprotocol/clientInfo': { name: client, version: '1.0.0' },
  'io.modelcontextprotocol/clientCapabilities': capabilities,
});
const headers = (method: string, name?: string, version = VERSION): InboundContext => ({
  headers: {
    'mcp-protocol-version': version,
    'mcp-method': method,
    ...(name === undefined ? {} : { 'mcp-name': name }),
  },
});

function observe(tools: unknown[] = []) {
  const exporter = new InMemoryLogRecordExporter();
  const loggerProvider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter })] });
  let reads = 0;
  const observer = new ConnectionObserver(
    {
      transport: 'streamable-http',
      readToolList: () => {
        reads++;
        return Promise.resolve(tools);
      },
    },
    new Telemetry({ loggerProvider }),
  );
  const events = (): Record<string, unknown>[] =>
    exporter.getFinishedLogRecords().map((record) => {
      const event = {
        ...(record.body as Record<string, unknown>),
        schemaVersion: 1,
        eventId: 'e',
        server: { name: record.attributes['mcp.server.name'] as string },
      };
      const parsed = parseMcpEvent(event);
      assert.ok(parsed.ok, JSON.stringify(parsed));
      return event;
    });
  return { observer, events, reads: () => reads };
}

void test('a stateless request names its client and version in _meta; headers are recorded next to the body', () => {
  const { observer, events } = observe();
  observer.onInbound(
    {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'get_weather', arguments: { location: 'Seattle' }, _meta: meta() },
    },
    headers('tools/call', 'get_weather'),
  );
  observer.onOutbound({
    jsonrpc: '2.0',
    id: 1,
    result: { resultType: 'complete', content: [], _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'wx' } } },
  });
  const [call] = events();
  assert.equal(call?.['kind'], 'call');
  assert.equal(call?.['stateless'], true);
  assert.equal(call?.['protocolVersion'], VERSION);
  assert.equal(call?.['resultType'], 'complete');
  assert.deepEqual(call?.['client'], { name: 'ExampleClient', version: '1.0.0', capabilities: ['elicitation'] });
  assert.deepEqual(call?.['mcpHeaders'], { method: 'tools/call', name: 'get_weather', protocolVersion: VERSION });
  assert.equal(call?.['sessionId'], undefined);
  assert.ok(events().every((event) => event['kind'] !== 'session'));
});

void test('headers that disagree with the body are listed; a Base64 sentinel name is decoded first', () => {
  const { observer, events } = observe();
  const call = (id: number, name: string, inbound: InboundContext): void => {
    observer.onInbound({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, _meta: meta() } }, inbound);
    observer.onOutbound({ jsonrpc: '2.0', id, result: { content: [] } });
  };
  call(1, 'delete_repo', headers('tools/call', 'get_weather'));
  call(2, 'grüße', headers('tools/call', `=?base64?${Buffer.from('grüße').toString('base64')}?=`));
  call(3, 'get_weather', headers('tools/list', undefined, '2025-11-25'));
  const [first, second, third] = events();
  assert.deepEqual((first?.['mcpHeaders'] as { mismatch?: string[] }).mismatch, ['name']);
  assert.equal((second?.['mcpHeaders'] as { mismatch?: string[] }).mismatch, undefined);
  assert.deepEqual((third?.['mcpHeaders'] as { mismatch?: string[] }).mismatch, ['method', 'name', 'protocolVersion']);
});

void test('server/discover names the server; a list change on a subscriptions/listen stream refreshes the catalog', async () => {
  const tools = [{ name: 'echo', description: 'Echoes.', inputSchema: { type: 'object' } }];
  const { observer, events, reads } = observe(tools);
  observer.onInbound(
    { jsonrpc: '2.0', id: 'discover-1', method: 'server/discover', params: { _meta: meta() } },
    headers('server/discover'),
  );
  observer.onOutbound({
    jsonrpc: '2.0',
    id: 'discover-1',
    result: {
      resultType: 'complete',
      supportedVersions: [VERSION],
      capabilities: { tools: {} },
      _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'ExampleServer', version: '1.0.0' } },
      instructions: 'Weather tools.',
    },
  });
  observer.onInbound(
    {
      jsonrpc: '2.0',
      id: 7,
      method: 'subscriptions/listen',
      params: { _meta: meta(), notifications: { toolsListChanged: true } },
    },
    headers('subscriptions/listen'),
  );
  const tagged = { _meta: { 'io.modelcontextprotocol/subscriptionId': 7 } };
  observer.onOutbound({ jsonrpc: '2.0', method: 'notifications/subscriptions/acknowledged', params: tagged });
  observer.onOutbound({ jsonrpc: '2.0', method: 'notifications/tools/list_changed', params: tagged });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(reads(), 1);
  const catalog = events().find((event) => event['kind'] === 'tool-catalog');
  assert.equal(catalog?.['trigger'], 'list-changed');
  assert.deepEqual(catalog?.['server'], { name: 'ExampleServer' });
  assert.equal(catalog?.['instructions'], 'Weather tools.');
});

void test('an InputRequiredResult records each input request: form fields, URL host, sampling', () => {
  const { observer, events } = observe();
  observer.onInbound(
    { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'deploy', _meta: meta() } },
    headers('tools/call', 'deploy'),
  );
  observer.onOutbound({
    jsonrpc: '2.0',
    id: 1,
    result: {
      resultType: 'input_required',
      inputRequests: {
        login: {
          method: 'elicitation/create',
          params: {
            mode: 'form',
            message: 'Sign in to continue',
            requestedSchema: {
              type: 'object',
              properties: { user: { type: 'string' }, password: { type: 'string', title: 'Password' } },
            },
          },
        },
        pay: {
          method: 'elicitation/create',
          params: { mode: 'url', message: 'Confirm payment', url: 'https://pay.example.net/c?token=abc#x' },
        },
        ask: { method: 'sampling/createMessage', params: { messages: [], maxTokens: 10 } },
      },
      requestState: 'opaque',
    },
  });
  const all = events();
  assert.equal(all.find((event) => event['kind'] === 'call')?.['resultType'], 'input_required');
  const inputs = all.filter((event) => event['kind'] === 'input-request');
  assert.deepEqual(
    inputs.map((event) => [event['inputKey'], event['inputMethod'], event['elicitationMode']]),
    [
      ['login', 'elicitation/create', 'form'],
      ['pay', 'elicitation/create', 'url'],
      ['ask', 'sampling/createMessage', undefined],
    ],
  );
  assert.deepEqual(
    (inputs[0]?.['requestedFields'] as { name: string }[]).map((field) => field.name),
    ['user', 'password'],
  );
  assert.equal(inputs[1]?.['url'], 'https://pay.example.net/c');
  assert.equal(inputs[1]?.['urlHost'], 'pay.example.net');
  assert.ok(inputs.every((event) => event['tool'] === 'deploy' && event['delivery'] === 'input-required'));
});

void test('a 2025-era server request for elicitation is recorded too', () => {
  const { observer, events } = observe();
  observer.onOutbound({
    jsonrpc: '2.0',
    id: 3,
    method: 'elicitation/create',
    params: { message: 'API key?', requestedSchema: { type: 'object', properties: { apiKey: { type: 'string' } } } },
  });
  const [input] = events();
  assert.equal(input?.['delivery'], 'server-request');
  assert.equal(input?.['elicitationMode'], 'form');
  assert.equal(input?.['inputKey'], '3');
});
