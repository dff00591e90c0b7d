import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { toolCatalogSnapshot } from './catalog.ts';
import { loadInstrumentationConfig } from './config.ts';
import { contentHash } from '../contracts/content-hash.ts';
import { audienceMatches, bearerToken, describeToken, Keyring } from './identity.ts';
import { KnownSecrets, REDACTED, scrubValue } from './export/redact.ts';

import { sanitizeResourceUri } from '../contracts/resource-uri.ts';
import { assessSessionId } from './session-id.ts';

const KEY = 'unit-test-key-unit-test-key-0123456789';
const keyring = new Keyring(KEY);
const hmac = (value: string): string => `hmac-sha256:${createHmac('sha256', KEY).update(value).digest('hex')}`;
const jwt = (claims: object): string => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

void test('fingerprints and principal ids are keyed HMACs; real ids only when asked', () => {
  const token = jwt({
    iss: 'https://idp',
    sub: 'u1',
    aud: ['https://a', 'https://b'],
    azp: 'c1',
    scope: 'x y',
    exp: 2_000_000_000,
  });
  const pseudonymous = describeToken(token, undefined, keyring, false);
  assert.equal(pseudonymous.claims.fingerprint, hmac(token));
  assert.deepEqual(pseudonymous.principal, { id: hmac('https://idp\nu1'), pseudonymous: true, issuer: 'https://idp' });
  assert.deepEqual(pseudonymous.claims.audience, ['https://a', 'https://b']);
  assert.deepEqual(pseudonymous.claims.scopes, ['x', 'y']);
  assert.equal(pseudonymous.claims.authorizedParty, 'c1');
  assert.equal(pseudonymous.claims.expiresAt, '2033-05-18T03:33:20.000Z');
  assert.deepEqual(describeToken(token, undefined, keyring, true).principal, {
    id: 'u1',
    pseudonymous: false,
    issuer: 'https://idp',
  });
  // AuthInfo from the verifier wins over the unverified payload; an opaque token has no principal.
  const opaque = describeToken(
    'opaque-token-value',
    { clientId: 'c2', scopes: ['s'], resource: new URL('https://r/') },
    keyring,
    false,
  );
  assert.equal(opaque.principal, undefined);
  assert.deepEqual(opaque.claims.scopes, ['s']);
  assert.equal(opaque.claims.resource, 'https://r/');
  assert.notEqual(new Keyring(undefined).fingerprint('t'), new Keyring(undefined).fingerprint('t'));
});

void test('audience matches the configured resource through aud or the resource indicator', () => {
  const claims = { fingerprint: hmac('t'), audience: ['https://mcp.example/'], scopes: [] };
  assert.equal(audienceMatches(claims, 'https://mcp.example'), true);
  assert.equal(audienceMatches(claims, 'https://other.example'), false);
  assert.equal(
    audienceMatches({ ...claims, audience: [], resource: 'https://other.example' }, 'https://other.example'),
    true,
  );
  assert.equal(audienceMatches(claims, undefined), undefined);
  assert.equal(bearerToken('Bearer abc'), 'abc');
  assert.equal(bearerToken('Basic abc'), undefined);
});

void test('session ids are assessed for length, charset, entropy and sequence', () => {
  const uuid = assessSessionId('3f2504e0-4f89-41d3-9a0c-0305e82c3301', undefined);
  assert.equal(uuid.charset, 'base64url');
  assert.ok(uuid.entropyBits > 100);
  assert.equal(uuid.sequential, false);
  const weak = assessSessionId('session-1002', 'session-1001');
  assert.equal(weak.sequential, true);
  assert.ok(weak.entropyBits < 45);
  assert.equal(assessSessionId('deadbeef', undefined).charset, 'hex');
  assert.equal(assessSessionId('abc def', undefined).charset, 'other');
});

void test('tool hashes are RFC 8785: key order does not matter, any change does', () => {
  const a = { name: 't', description: 'd', inputSchema: { type: 'object', properties: { x: { type: 'string' } } } };
  const reordered = {
    inputSchema: { properties: { x: { type: 'string' } }, type: 'object' },
    description: 'd',
    name: 't',
  };
  assert.equal(contentHash(a), contentHash(reordered));
  assert.notEqual(contentHash(a), contentHash({ ...a, description: 'd.' }));
  const long = { name: 'big', description: 'x'.repeat(20_000) };
  const snapshot = toolCatalogSnapshot([a, long], 'hello');
  assert.equal(snapshot.tools[1]?.truncated, true);
  assert.equal(snapshot.tools[1]?.hash, contentHash(long));
  assert.equal(snapshot.listHash, contentHash([contentHash(long), contentHash(a)]));
  assert.equal(snapshot.instructionsHash, contentHash('hello'));
});

void test('the scrubber removes known secrets, bearer values, JWTs and credential-named fields', () => {
  const secrets = new KnownSecrets();
  secrets.remember('opaque-secret-1234');
  secrets.rememberCookies('a=cookie-value-5678; theme=dark');
  assert.equal(secrets.scrub('x opaque-secret-1234 y cookie-value-5678'), `x ${REDACTED} y ${REDACTED}`);
  assert.equal(secrets.scrub('Authorization: Bearer abcdefghijklmnopqrstu').includes('abcdefghijklmnopqrstu'), false);
  assert.equal(secrets.scrub('sent Bearer abcdefghijklmnopqrstu'), `sent Bearer ${REDACTED}`);
  assert.equal(secrets.scrub('t=eyJhbGciOi.eyJzdWIiOiIx.c2ln'), `t=${REDACTED}`);
  assert.equal(secrets.scrub('theme dark and basic information'), 'theme dark and basic information');
  assert.deepEqual(
    scrubValue({ headers: { Authorization: 'x', cookie: 'y' }, token: { fingerprint: 'hmac-sha256:00' } }, secrets),
    {
      headers: { Authorization: REDACTED, cookie: REDACTED },
      token: { fingerprint: 'hmac-sha256:00' },
    },
  );
});

void test('resource URIs lose credentials, query and fragment', () => {
  assert.equal(sanitizeResourceUri('https://user:pw@host/a?token=x#f'), 'https://host/a');
  assert.equal(sanitizeResourceUri('file:///etc/app.conf'), 'file:///etc/app.conf');
  assert.equal(sanitizeResourceUri('not a uri?x=1'), 'not a uri');
});

void test('configuration is validated with the variable named', () => {
  assert.throws(
    () => loadInstrumentationConfig({ MCPWATCH_HMAC_KEY: 'short' }),
    /MCPWATCH_HMAC_KEY: expected at least 32/,
  );
  assert.throws(
    () => loadInstrumentationConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }),
    /OTEL_EXPORTER_OTLP_PROTOCOL/,
  );
  assert.throws(() => loadInstrumentationConfig({ MCPWATCH_RESOURCE: 'not a url' }), /MCPWATCH_RESOURCE/);
  const config = loadInstrumentationConfig({ MCPWATCH_REAL_IDS: 'true', PATH: '/bin' });
  assert.equal(config.MCPWATCH_REAL_IDS, true);
  assert.equal(config.MCPWATCH_CAPTURE_CONTENT, false);
});
