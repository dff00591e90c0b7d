/**
 * 2026-07-28 traffic through the in-process instrumentation of SDK 2.x: the stateless fixture server
 * (`support/stateless-server-v2.ts`) loaded with `--import mcpwatch/register`, over Streamable HTTP
 * (`createMcpHandler` behind `toNodeHandler`, the host verifying bearer tokens) and over stdio (`serveStdio`),
 * driven by the real SDK 2.x client pinned to 2026-07-28, events through `mcpwatch serve`'s detectors. What the
 * SDK serves, the instrumentation sees: benign traffic raises nothing, the attacks the server handles raise their
 * rules, the client address is the one of each request, and a tool list change announced on the listen stream
 * re-reads the catalog (drift). A header/body mismatch never reaches a server instance: `createMcpHandler`
 * refuses it at the entry (-32020), so only the gateway sees it (`proxy-stateless.test.ts`).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { exportEnv, startAnnouncing, startWatchedServe, stop } from './support/proxy.ts';
import type { WatchedServe } from './support/proxy.ts';
import {
  alertsOf,
  assertStateless,
  benignConversation,
  callText,
  createIssuer,
  eventsOf,
  headerBodyMismatch,
  httpClient,
  ISSUER,
  MODERN,
  statelessToolCall,
  SESSION_RULES,
  stdioClient,
  toolNames,
  waitForAlerts,
} from './support/stateless-traffic.ts';
import type { Issuer } from './support/stateless-traffic.ts';
import { waitFor } from './support/wait-for.ts';

const fixture = fileURLToPath(new URL('./support/stateless-server-v2.ts', import.meta.url));
/** From source, as the demo runs its servers: the one import, then the server. */
const instrumented = ['--conditions=mcpwatch-source', '--import', 'tsx', '--import', 'mcpwatch/register', fixture];
const HONEST = ['echo', 'forecast', 'install_plugin', 'link_bank_account'];

let watched: WatchedServe;
let issuer: Issuer;
const children: ChildProcess[] = [];

before(async () => {
  watched = await startWatchedServe();
  issuer = await createIssuer();
});
after(async () => {
  await Promise.all(children.map((child) => stop(child)));
  await watched.close();
});

/** The fixture over HTTP with the one import, verifying tokens itself; resolves to its URL. */
async function instrumentedHttpServer(name: string, fixtureEnv: Record<string, string> = {}): Promise<string> {
  const server = await startAnnouncing(
    instrumented,
    exportEnv(watched.serve.otlpUrl, {
      OTEL_SERVICE_NAME: name,
      FIXTURE_NAME: name,
      FIXTURE_TRANSPORT: 'http',
      FIXTURE_ISSUER: ISSUER,
      FIXTURE_JWKS: JSON.stringify(issuer.jwks),
      ...fixtureEnv,
    }),
  );
  children.push(server.child);
  return server.url;
}

/** One stateless `tools/call` from another loopback address (Linux routes all of 127/8 to lo). */
function callFrom(localAddress: string, url: string, token: string): Promise<number> {
  const body = statelessToolCall(
    'from-127-0-0-2',
    'echo',
    { text: 'from elsewhere' },
    { name: 'cli-probe', version: '1.0.0' },
  );
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        localAddress,
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          authorization: `Bearer ${token}`,
          'mcp-protocol-version': MODERN,
          'mcp-method': 'tools/call',
          'mcp-name': 'echo',
        },
      },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

void describe('2026-07-28 through the instrumentation of SDK 2.x', () => {
  it(
    'createMcpHandler: benign traffic raises nothing and names each request’s address; the attacks raise their rules',
    { timeout: 240_000 },
    async () => {
      const url = await instrumentedHttpServer('inproc-benign');
      const tokens = { alice: await issuer.mint('alice@example.com'), bob: await issuer.mint('bob@example.com') };
      const clients = { alice: 'claude-code', bob: 'cursor' };
      await benignConversation((who) => httpClient(url, { name: clients[who], token: tokens[who] }));
      assert.equal(await callFrom('127.0.0.2', url, await issuer.mint('carol@example.com')), 200);
      const events = await waitFor('the benign conversation', () => {
        const found = eventsOf(watched, 'inproc-benign');
        return found.filter((event) => event.kind === 'call' && event.method === 'tools/call').length >= 7
          ? found
          : undefined;
      });
      assertStateless(events, [...Object.values(clients), 'cli-probe']);
      const calls = events.filter((event) => event.kind === 'call' && event.method === 'tools/call');
      assert.deepEqual(
        [...new Set(calls.map((event) => event.client?.address))].sort(),
        ['127.0.0.1', '127.0.0.2'],
        'the address of each request, behind the SDK’s web Request',
      );
      const probe = calls.find((event) => event.client?.name === 'cli-probe');
      assert.equal(probe?.client?.address, '127.0.0.2');
      assert.ok(calls.every((event) => event.kind === 'call' && event.authenticated === true));

      const name = 'inproc-attack';
      const attackUrl = await instrumentedHttpServer(name, { FIXTURE_TARGET: 'mallory@example.com' });
      for (const [subject, client] of [
        ['alice@example.com', 'claude-code'],
        ['bob@example.com', 'cursor'],
      ] as const) {
        const session = await httpClient(attackUrl, {
          name: client,
          token: await issuer.mint(subject),
          elicitation: true,
        });
        assert.deepEqual(await toolNames(session), HONEST);
        await session.close();
      }
      const mallory = await httpClient(attackUrl, {
        name: 'claude-code',
        token: await issuer.mint('mallory@example.com'),
        elicitation: true,
      });
      assert.deepEqual(await toolNames(mallory), [...HONEST, 'sync_contacts'].sort());
      await mallory.close();
      const alice = await issuer.mint('alice@example.com');
      const owner = await httpClient(attackUrl, { name: 'claude-code', token: alice, elicitation: true });
      assert.equal(await callText(owner, 'link_bank_account', { bank: 'Northwind' }), 'Not linked.');
      await owner.close();
      const replayer = await httpClient(attackUrl, { name: 'token-replayer', token: alice, elicitation: true });
      assert.equal(await callText(replayer, 'echo', { text: 'hi' }), 'hi');
      await replayer.close();
      assert.equal(await headerBodyMismatch(attackUrl, await issuer.mint('mallory@example.com')), -32020);

      const alerts = await waitForAlerts(watched, name, [
        'tool-list-variance',
        'client-identity-change',
        'elicitation-credential-request',
      ]);
      assert.deepEqual(
        alerts.filter((alert) => SESSION_RULES.includes(alert.ruleId) || alert.ruleId === 'tool-definition-drift'),
        [],
      );
      const attackEvents = eventsOf(watched, name);
      assert.ok(attackEvents.every((event) => event.sessionId === undefined));
      assert.ok(
        !attackEvents.some((event) => event.kind === 'call' && event.requestId === 'smuggled-1'),
        'refused at the entry, before any server instance',
      );
      // Events of one partition are detected in order: the benign ones were judged before these alerts.
      assert.deepEqual(
        alertsOf(watched, 'inproc-benign').map((alert) => `${alert.ruleId}: ${alert.description}`),
        [],
      );
    },
  );

  it(
    'serveStdio: a tool list change announced on subscriptions/listen re-reads the catalog',
    { timeout: 180_000 },
    async () => {
      const name = 'inproc-stdio';
      const changed: string[][] = [];
      const client = await stdioClient(
        instrumented,
        exportEnv(watched.serve.otlpUrl, { OTEL_SERVICE_NAME: name, FIXTURE_NAME: name }),
        { name: 'claude-code', onToolsChanged: (names) => changed.push(names) },
      );
      assert.deepEqual(await toolNames(client), HONEST);
      assert.equal(await callText(client, 'echo', { text: 'hi' }), 'hi');
      assert.equal(await callText(client, 'install_plugin', {}), 'Installed.');
      // The client hears of it on its listen stream and lists again: then both catalogs are in.
      await waitFor('the refreshed tool list', () => changed.find((names) => names.includes('plugin_search')));
      await client.close();

      const refreshed = await waitFor('the catalog re-read on the list change', () =>
        eventsOf(watched, name).find((event) => event.kind === 'tool-catalog' && event.trigger === 'list-changed'),
      );
      assert.ok(refreshed.kind === 'tool-catalog');
      assert.deepEqual(refreshed.tools.map((tool) => tool.name).sort(), [...HONEST, 'plugin_search'].sort());
      assert.equal(refreshed.protocolVersion, MODERN);
      const [drift] = (await waitForAlerts(watched, name, ['tool-definition-drift'])).filter(
        (alert) => alert.ruleId === 'tool-definition-drift',
      );
      assert.equal(drift?.evidence['trigger'], 'list-changed');
      assert.deepEqual(drift?.evidence['changes'], [{ tool: 'plugin_search', change: 'added' }]);
      assertStateless(eventsOf(watched, name), ['claude-code']);
    },
  );
});
