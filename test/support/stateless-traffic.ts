/**
 * 2026-07-28 traffic for the stateless end-to-end tests: the real SDK 2.x client pinned to 2026-07-28 (no
 * `initialize`; protocol version, client info and capabilities in every request's `_meta`; `Mcp-Method` and
 * `Mcp-Name` headers over HTTP), bearer tokens from a local issuer, the benign conversation and one attack per
 * stateless rule, and the wait for what `mcpwatch serve` detected.
 */
import assert from 'node:assert/strict';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { JSONWebKeySet } from 'jose';
import type { Alert } from '../../contracts/alert.ts';
import type { McpEvent } from '../../contracts/mcp-event.ts';
import type { WatchedServe } from './proxy.ts';
import { root } from './proxy.ts';
import { waitFor } from './wait-for.ts';

export const MODERN = '2026-07-28';
export const ISSUER = 'https://idp.example';
export const STATELESS_RULES = [
  'header-body-mismatch',
  'client-identity-change',
  'tool-list-variance',
  'elicitation-credential-request',
];
export const SESSION_RULES = ['session-reuse-across-users', 'session-client-change', 'weak-session-id'];

export interface Issuer {
  jwks: JSONWebKeySet;
  mint(subject: string): Promise<string>;
}

export async function createIssuer(): Promise<Issuer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] };
  return {
    jwks,
    mint: (subject) =>
      new SignJWT({ scope: 'tools', azp: 'agent-app' })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(ISSUER)
        .setSubject(subject)
        .setAudience('weather-mcp')
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(privateKey),
  };
}

interface ClientOptions {
  name: string;
  token?: string;
  /** Declares form elicitation and declines every request for input (the user says no). */
  elicitation?: boolean;
  /** Refreshes the tool list on `notifications/tools/list_changed` (on 2026-07-28: a `subscriptions/listen` stream). */
  onToolsChanged?: (names: string[]) => void;
}

function newClient(options: ClientOptions): Client {
  const client = new Client(
    { name: options.name, version: '1.0.0' },
    {
      versionNegotiation: { mode: { pin: MODERN } },
      ...(options.elicitation === true ? { capabilities: { elicitation: { form: {} } } } : {}),
      ...(options.onToolsChanged === undefined
        ? {}
        : {
            listChanged: {
              tools: {
                debounceMs: 0,
                onChanged: (_error, tools) => options.onToolsChanged?.((tools ?? []).map((tool) => tool.name)),
              },
            },
          }),
    },
  );
  if (options.elicitation === true) client.setRequestHandler('elicitation/create', () => ({ action: 'decline' }));
  return client;
}

export async function httpClient(url: string, options: ClientOptions): Promise<Client> {
  const client = newClient(options);
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

export async function stdioClient(args: string[], env: NodeJS.ProcessEnv, options: ClientOptions): Promise<Client> {
  const client = newClient(options);
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args,
      env: env as Record<string, string>,
      cwd: root,
      stderr: 'inherit',
    }),
  );
  return client;
}

export async function toolNames(client: Client): Promise<string[]> {
  return (await client.listTools()).tools.map((tool) => tool.name).sort();
}

export async function callText(client: Client, name: string, args: Record<string, unknown>): Promise<string> {
  const result = await client.callTool({ name, arguments: args });
  return (result.content as { type: string; text?: string }[]).map((item) => item.text ?? '').join('\n');
}

/** What a person does all day: list, ask, list again in a fresh connection. Two people, one client each. */
export async function benignConversation(connect: (who: 'alice' | 'bob') => Promise<Client>): Promise<void> {
  for (const who of ['alice', 'bob', 'alice'] as const) {
    const client = await connect(who);
    assert.deepEqual(await toolNames(client), ['echo', 'forecast', 'install_plugin', 'link_bank_account']);
    assert.equal(await callText(client, 'echo', { text: `hello from ${who}` }), `hello from ${who}`);
    assert.match(await callText(client, 'forecast', { city: 'Lisbon' }), /Lisbon/);
    await client.close();
  }
}

/** The JSON body of a 2026-07-28 `tools/call` as a client without an SDK sends it: identity in `_meta`. */
export function statelessToolCall(
  id: string,
  tool: string,
  args: Record<string, unknown>,
  clientInfo: { name: string; version: string },
): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: {
      name: tool,
      arguments: args,
      _meta: {
        'io.modelcontextprotocol/protocolVersion': MODERN,
        'io.modelcontextprotocol/clientInfo': clientInfo,
        'io.modelcontextprotocol/clientCapabilities': {},
      },
    },
  });
}

/**
 * A raw POST whose `Mcp-Name` header names the harmless `echo` while the body calls `link_bank_account`: shaped to
 * pass a gateway policy that allows `echo` by header. Returns the JSON-RPC error code the server answered.
 */
export async function headerBodyMismatch(url: string, token: string): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${token}`,
      'mcp-protocol-version': MODERN,
      'mcp-method': 'tools/call',
      'mcp-name': 'echo',
    },
    body: statelessToolCall('smuggled-1', 'link_bank_account', { bank: 'Northwind' }, { name: 'curl', version: '8.0' }),
  });
  const answer = (await response.json()) as { error?: { code?: unknown } };
  return answer.error?.code;
}

/** The events the collector produced for one server. */
export const eventsOf = (watched: WatchedServe, server: string): McpEvent[] =>
  watched.events.filter((event) => event.server.name === server);

/** The alerts `serve` raised about one server. */
export const alertsOf = (watched: WatchedServe, server: string): Alert[] =>
  watched.serve.store.alerts().filter((alert) => alert.entities.server === server);

/** Waits until each rule has raised an alert about `server`; returns every alert about it then. */
export function waitForAlerts(watched: WatchedServe, server: string, ruleIds: readonly string[]): Promise<Alert[]> {
  return waitFor(`${ruleIds.join(', ')} alerts about ${server}`, () => {
    const alerts = alertsOf(watched, server);
    const raised = new Set(alerts.map((alert) => alert.ruleId));
    return ruleIds.every((ruleId) => raised.has(ruleId)) ? alerts : undefined;
  });
}

/** What holds for every event of stateless traffic: no session, the version and client of each request. */
export function assertStateless(events: readonly McpEvent[], clientNames: readonly string[]): void {
  assert.ok(events.length > 0, 'events arrived');
  for (const event of events) assert.equal(event.sessionId, undefined, `${event.kind} event without a session`);
  assert.ok(events.every((event) => event.kind !== 'session'));
  const calls = events.filter((event) => event.kind === 'call' && event.method === 'tools/call');
  assert.ok(calls.length > 0, 'tools/call events arrived');
  for (const call of calls) {
    assert.ok(call.kind === 'call');
    assert.equal(call.stateless, true);
    assert.equal(call.protocolVersion, MODERN);
    assert.ok(call.client?.name !== undefined && clientNames.includes(call.client.name), call.client?.name);
  }
  const catalogs = events.filter((event) => event.kind === 'tool-catalog');
  assert.ok(catalogs.length > 0 && catalogs.every((event) => event.protocolVersion === MODERN));
}
