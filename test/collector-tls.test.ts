/**
 * TLS and mTLS on the receiver, with certificates made for this run by openssl: a client with a certificate
 * from the configured CA gets through; one without is refused during the handshake.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { startCollector } from '../collector/collector.ts';
import { EmbeddedTransport } from '../transport/embedded.ts';

function openssl(cwd: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd, stdio: 'ignore' });
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, both signed by the CA. */
function makeCertificates(dir: string): void {
  openssl(
    dir,
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=mcpwatch test CA',
  );
  for (const name of ['server', 'client']) {
    openssl(
      dir,
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${name}`,
    );
    openssl(
      dir,
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '1',
      ...(name === 'server' ? ['-extfile', 'san.cnf'] : []),
    );
  }
}

function get(url: string, options: { ca: Buffer; cert?: Buffer; key?: Buffer }): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/healthz`, options, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

void test('mTLS: a client certificate signed by the configured CA is required', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'mcpwatch-tls-'));
  const transport = new EmbeddedTransport();
  try {
    await writeFile(path.join(dir, 'san.cnf'), 'subjectAltName=IP:127.0.0.1\n');
    makeCertificates(dir);
    const file = (name: string) => path.join(dir, name);
    const collector = await startCollector(
      { port: 0, tls: { certFile: file('server.crt'), keyFile: file('server.key'), clientCaFile: file('ca.crt') } },
      { transport, logger: pino({ level: 'silent' }) },
    );
    try {
      assert.match(collector.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const ca = await readFile(file('ca.crt'));
      const status = await get(collector.url, {
        ca,
        cert: await readFile(file('client.crt')),
        key: await readFile(file('client.key')),
      });
      assert.equal(status, 200);
      await assert.rejects(get(collector.url, { ca }));
    } finally {
      await collector.close();
    }
  } finally {
    await transport.close();
    await rm(dir, { recursive: true, force: true });
  }
});
