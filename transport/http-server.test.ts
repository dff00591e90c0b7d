import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { isMcpwatchError } from '../contracts/errors.ts';
import { hostNameOf, isLoopback, startHttpServer, type RunningHttpServer } from './http-server.ts';

function get(
  server: RunningHttpServer,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: '127.0.0.1', port: server.port, path, headers: { host: `127.0.0.1:${server.port}`, ...headers } },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    request.on('error', reject);
    request.end();
  });
}

void test('isLoopback parses addresses instead of matching a prefix', () => {
  for (const host of ['localhost', 'api.localhost', '127.0.0.1', '127.1.2.3', '::1', '[::1]', '0:0:0:0:0:0:0:1']) {
    assert.equal(isLoopback(host), true, host);
  }
  assert.equal(isLoopback('::ffff:127.0.0.1'), true);
  for (const host of [
    '127.evil.example',
    '127.0.0.1.nip.io',
    '0.0.0.0',
    '::',
    '10.0.0.1',
    '::ffff:10.0.0.1',
    '128.0.0.1',
  ]) {
    assert.equal(isLoopback(host), false, host);
  }
});

void test('hostNameOf strips the port and brackets and refuses malformed headers', () => {
  assert.equal(hostNameOf('LocalHost:4318'), 'localhost');
  assert.equal(hostNameOf('[::1]:4318'), '::1');
  assert.equal(hostNameOf('example.com.'), 'example.com');
  assert.equal(hostNameOf('a b'), undefined);
  assert.equal(hostNameOf('[::1]x'), undefined);
  assert.equal(hostNameOf('host:port'), undefined);
  assert.equal(hostNameOf(undefined), undefined);
});

void test('binding beyond loopback without a token is refused before listening', async () => {
  await assert.rejects(
    startHttpServer({ host: '0.0.0.0', port: 0, tokens: [], handle: () => Promise.resolve() }),
    (error) => isMcpwatchError(error, 'CONFIG_INVALID') && /without authentication/.test(error.message),
  );
});

void describe('a loopback server with a token', () => {
  let server: RunningHttpServer;
  before(async () => {
    server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      tokens: ['s3cret-token'],
      publicPaths: ['/page'],
      handle: (_request, response, path) => {
        response.writeHead(200, { 'content-type': 'text/plain' }).end(`served ${path}`);
        return Promise.resolve();
      },
    });
  });
  after(() => server.close());

  test('a rebound name is misdirected (421), a foreign Origin forbidden (403)', async () => {
    assert.equal((await get(server, '/page', { host: `evil.example:${server.port}` })).status, 421);
    assert.equal((await get(server, '/healthz', { host: 'evil.example' })).status, 421);
    assert.equal((await get(server, '/page', { host: 'a b' })).status, 421);
    assert.equal((await get(server, '/page', { origin: 'http://evil.example' })).status, 403);
    assert.equal((await get(server, '/page', { origin: 'null' })).status, 403);
    assert.equal((await get(server, '/page', { origin: `http://127.0.0.1:${server.port + 1}` })).status, 403);
    assert.equal((await get(server, '/page', { host: `localhost:${server.port}` })).body, 'served /page');
    assert.equal((await get(server, '/page', { origin: `http://localhost:${server.port}` })).status, 200);
    assert.equal((await get(server, '/page', { host: `[::1]:${server.port}` })).status, 200);
  });

  test('health and public paths answer without a token; the rest needs the right one', async () => {
    assert.equal((await get(server, '/healthz')).body, 'ok\n');
    assert.equal((await get(server, '/readyz')).status, 200);
    assert.equal((await get(server, '/api')).status, 401);
    assert.equal((await get(server, '/api', { authorization: 'Bearer s3cret-tokeX' })).status, 401);
    assert.equal((await get(server, '/api', { authorization: 'Bearer s' })).status, 401);
    assert.equal((await get(server, '/api', { authorization: `Bearer ${'s'.repeat(5000)}` })).status, 401);
    assert.equal((await get(server, '/api', { authorization: 'Bearer s3cret-token' })).body, 'served /api');
  });
});
