/**
 * 2026-07-28 traffic end to end through the gateway: `mcpwatch proxy` (the CLI process) in front of a stateless
 * SDK 2.x server (`support/stateless-server-v2.ts`), over Streamable HTTP (`--upstream`, verifying bearer tokens
 * against the issuer's JWKS) and over stdio, driven by the real SDK 2.x client pinned to 2026-07-28. Events go
 * through `mcpwatch serve`'s detectors: each stateless rule raises on its attack, benign stateless traffic raises
 * nothing at all, and no event carries a session for the session rules to see.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { exportEnv, proxyCommand, startAnnouncing, startWatchedServe, stop } from './support/proxy.ts';
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
  SESSION_RULES,
  stdioClient,
  STATELESS_RULES,
  toolNames,
  waitForAlerts,
} from './support/stateless-traffic.ts';
import type { Issuer } from './support/stateless-traffic.ts';
import { waitFor } from './support/wait-for.ts';

const fixture = fileURLToPath(new URL('./support/stateless-server-v2.ts', import.meta.url));

let watched: WatchedServe;
let issuer: Issuer;
let workDir: string;
let jwksFile: string;
const children: ChildProcess[] = [];

before(async () => {
  watched = await startWatchedServe();
  issuer = await createIssuer();
  workDir = await mkdtemp(join(tmpdir(), 'mcpwatch-proxy-stateless-'));
  jwksFile = join(workDir, 'jwks.json');
  await writeFile(jwksFile, JSON.stringify(issuer.jwks));
});
after(async () => {
  await Promise.all(children.map((child) => stop(child)));
  await watched.close();
  await rm(workDir, { recursive: true, force: true });
});

/** The fixture over HTTP and `mcpwatch proxy --upstream` in front of it; resolves to the proxy's URL. */
async function proxiedHttpServer(name: string, fixtureEnv: Record<string, string> = {}): Promise<string> {
  const upstream = await startAnnouncing(['--import', 'tsx', fixture], {
    ...process.env,
    FIXTURE_TRANSPORT: 'http',
    ...fixtureEnv,
  });
  children.push(upstream.child);
  const proxy = await startAnnouncing(
    proxyCommand(
      '--upstream',
      upstream.url,
      '--listen',
      '127.0.0.1:0',
      '--name',
      name,
      '--issuer',
      ISSUER,
      '--jwks-file',
      jwksFile,
    ),
    exportEnv(watched.serve.otlpUrl),
  );
  children.push(proxy.child);
  return proxy.url;
}

/** `mcpwatch proxy -- node <fixture>` as the client's stdio server command. */
const proxiedStdio = (name: string): string[] =>
  proxyCommand('--name', name, '--', process.execPath, '--import', 'tsx', fixture);

void describe('2026-07-28 through mcpwatch proxy', () => {
  it(
    'Streamable HTTP: benign traffic raises nothing, each stateless rule raises on its attack',
    { timeout: 240_000 },
    async () => {
      const url = await proxiedHttpServer('stateless-benign');
      const tokens = { alice: await issuer.mint('alice@example.com'), bob: await issuer.mint('bob@example.com') };
      const clients = { alice: 'claude-code', bob: 'cursor' };
      await benignConversation((who) => httpClient(url, { name: clients[who], token: tokens[who] }));
      const events = await waitFor('the benign conversation', () => {
        const found = eventsOf(watched, 'stateless-benign');
        return found.filter((event) => event.kind === 'call' && event.method === 'tools/call').length >= 6
          ? found
          : undefined;
      });
      assertStateless(events, Object.values(clients));
      const call = events.find((event) => event.kind === 'call' && event.tool === 'forecast');
      assert.ok(call?.kind === 'call');
      assert.deepEqual(call.mcpHeaders, { method: 'tools/call', name: 'forecast', protocolVersion: '2026-07-28' });
      assert.equal(call.authenticated, true);

      const alerts = await attackOverHttp('stateless-attack');
      const ruleOf = (ruleId: string) => alerts.filter((alert) => alert.ruleId === ruleId);
      assert.deepEqual(ruleOf('header-body-mismatch')[0]?.evidence['mismatch'], ['name']);
      assert.deepEqual(
        ruleOf('client-identity-change').map((alert) => alert.entities.client),
        ['token-replayer'],
      );
      assert.equal(ruleOf('tool-list-variance').length, 1);
      assert.deepEqual(ruleOf('tool-definition-drift'), [], 'a list served side by side is variance, not drift');
      assert.deepEqual(
        alerts.filter((alert) => SESSION_RULES.includes(alert.ruleId)),
        [],
      );
      assert.ok(eventsOf(watched, 'stateless-attack').every((event) => event.sessionId === undefined));
      // Events of one partition are detected in order: the benign ones were judged before these alerts.
      assert.deepEqual(
        alertsOf(watched, 'stateless-benign').map((alert) => `${alert.ruleId}: ${alert.description}`),
        [],
      );
    },
  );

  it(
    'stdio: benign stateless traffic raises nothing; a credential elicitation is caught',
    { timeout: 180_000 },
    async () => {
      const env = exportEnv(watched.serve.otlpUrl);
      await benignConversation(() => stdioClient(proxiedStdio('stateless-stdio-benign'), env, { name: 'claude-code' }));
      const benign = await waitFor('the benign stdio conversation', () => {
        const found = eventsOf(watched, 'stateless-stdio-benign');
        return found.filter((event) => event.kind === 'call' && event.method === 'tools/call').length >= 6
          ? found
          : undefined;
      });
      assertStateless(benign, ['claude-code']);

      const changed: string[][] = [];
      const client = await stdioClient(proxiedStdio('stateless-stdio-attack'), env, {
        name: 'claude-code',
        elicitation: true,
        onToolsChanged: (names) => changed.push(names),
      });
      assert.deepEqual(await toolNames(client), ['echo', 'forecast', 'install_plugin', 'link_bank_account']);
      assert.equal(await callText(client, 'link_bank_account', { bank: 'Northwind' }), 'Not linked.');
      assert.equal(await callText(client, 'install_plugin', {}), 'Installed.');
      // The change reaches the client on its subscriptions/listen stream; it lists the tools again.
      await waitFor('the refreshed tool list', () => changed.find((names) => names.includes('plugin_search')));
      assert.ok((await toolNames(client)).includes('plugin_search'));
      await client.close();

      const alerts = await waitForAlerts(watched, 'stateless-stdio-attack', [
        'elicitation-credential-request',
        'tool-definition-drift',
      ]);
      const phishing = alerts.find((alert) => alert.ruleId === 'elicitation-credential-request');
      assert.ok(JSON.stringify(phishing?.evidence).includes('password'));
      const input = eventsOf(watched, 'stateless-stdio-attack').find((event) => event.kind === 'input-request');
      assert.ok(input?.kind === 'input-request');
      assert.equal(input.delivery, 'input-required');
      assert.equal(input.inputMethod, 'elicitation/create');
      assert.deepEqual(alertsOf(watched, 'stateless-stdio-benign'), []);
      assert.deepEqual(
        alerts.filter((alert) => SESSION_RULES.includes(alert.ruleId)),
        [],
      );
    },
  );
});

/**
 * One attack per stateless rule against a fresh proxied server named `name`, in this order: a targeted rug pull
 * (mallory, never served before, gets `sync_contacts`), a token replayed by another client, a header/body mismatch,
 * and a credential elicitation. Resolves once each stateless rule has raised about `name`.
 */
async function attackOverHttp(name: string) {
  const url = await proxiedHttpServer(name, { FIXTURE_TARGET: 'mallory@example.com' });
  const alice = await issuer.mint('alice@example.com');
  const honest = ['echo', 'forecast', 'install_plugin', 'link_bank_account'];
  for (const [subject, client] of [
    ['alice@example.com', 'claude-code'],
    ['bob@example.com', 'cursor'],
  ] as const) {
    const session = await httpClient(url, { name: client, token: await issuer.mint(subject), elicitation: true });
    assert.deepEqual(await toolNames(session), honest);
    await session.close();
  }
  const mallory = await httpClient(url, {
    name: 'claude-code',
    token: await issuer.mint('mallory@example.com'),
    elicitation: true,
  });
  assert.deepEqual(await toolNames(mallory), [...honest, 'sync_contacts'].sort());
  await mallory.close();

  const owner = await httpClient(url, { name: 'claude-code', token: alice, elicitation: true });
  assert.equal(await callText(owner, 'echo', { text: 'hi' }), 'hi');
  // The server asks the user for the online-banking password through the agent; the user declines.
  assert.equal(await callText(owner, 'link_bank_account', { bank: 'Northwind' }), 'Not linked.');
  await owner.close();
  const replayer = await httpClient(url, { name: 'token-replayer', token: alice, elicitation: true });
  assert.equal(await callText(replayer, 'echo', { text: 'hi' }), 'hi');
  await replayer.close();

  // Mallory's request is shaped for a policy that allows `echo`; the server refuses it (HeaderMismatch), the
  // gateway saw it on its way.
  assert.equal(await headerBodyMismatch(url, await issuer.mint('mallory@example.com')), -32020);
  return waitForAlerts(watched, name, STATELESS_RULES);
}
