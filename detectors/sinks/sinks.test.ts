import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import type { Alert } from '../../contracts/alert.ts';
import { isMcpwatchError } from '../../contracts/errors.ts';
import { retryPolicy } from '../../transport/retry.ts';
import { FileSink } from './file.ts';
import { StdoutSink, formatAlertLine } from './stdout.ts';
import { WebhookSink } from './webhook.ts';

function alert(alertId: string, session: string): Alert {
  return {
    schemaVersion: 1,
    alertId,
    ruleId: 'session-reuse-across-users',
    ruleVersion: 1,
    severity: 'high',
    title: 'Session used by a second principal',
    description: 'd',
    time: '2026-01-01T00:00:01.000Z',
    entities: { session, user: 'bob' },
    evidence: { principals: ['alice', 'bob'] },
    owasp: ['MCP07'],
    attack: ['T1550'],
    eventIds: ['e2'],
    count: 1,
  };
}

const a1 = alert('0'.repeat(32), 's1');
const a2 = alert('1'.repeat(32), 's2');

/** A real HTTP receiver on loopback answering with the statuses given, in order (the last one repeats). */
async function receiver(
  statuses: number[],
  headers: Record<string, string> = {},
): Promise<{ url: string; bodies: unknown[]; close(): Promise<void> }> {
  const bodies: unknown[] = [];
  let calls = 0;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      const status = statuses[Math.min(calls, statuses.length - 1)]!;
      calls += 1;
      response.writeHead(status, status >= 500 ? headers : {}).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/alerts?token=secret`,
    bodies,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

void describe('alert sinks', () => {
  void test('file: appends JSON lines across deliveries and reopenings', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'mcpwatch-file-sink-'));
    try {
      const file = path.join(dir, 'nested', 'alerts.jsonl');
      const sink = new FileSink(file);
      await Promise.all([sink.deliver([a1]), sink.deliver([a2])]);
      await sink.close();
      const again = new FileSink(file);
      await again.deliver([a1]);
      await again.close();
      const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
      assert.deepEqual(
        lines.map((line) => (JSON.parse(line) as Alert).alertId),
        [a1.alertId, a2.alertId, a1.alertId],
      );
      assert.deepEqual(await again.health(), { healthy: true });
      await assert.rejects(again.deliver([a1]), (error) => isMcpwatchError(error, 'CLOSED'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  void test('file: a failed append rejects as retriable and shows in health', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'mcpwatch-file-sink-'));
    try {
      await writeFile(path.join(dir, 'not-a-directory'), '');
      const sink = new FileSink(path.join(dir, 'not-a-directory', 'alerts.jsonl'));
      await assert.rejects(sink.deliver([a1]), (error) => isMcpwatchError(error, 'DELIVERY_FAILED') && error.retriable);
      assert.equal((await sink.health()).healthy, false);
      await sink.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  void test('stdout: one readable line per alert, control characters escaped', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    const hostile = alert('2'.repeat(32), 's3\u001b[2J\r\nFAKE ALERT');
    await new StdoutSink('text', out).deliver([a1, hostile]);
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.length, 2);
    assert.equal(
      lines[0],
      '2026-01-01T00:00:01.000Z  HIGH  session-reuse-across-users  Session used by a second principal  session=s1 user=bob  {"principals":["alice","bob"]}',
    );
    assert.ok(!lines[1]!.includes('\u001b') && lines[1]!.includes('\\u001b[2J\\u000d\\u000aFAKE ALERT'));
    assert.equal(formatAlertLine({ ...a1, count: 4 }).includes('(×4)'), true);
  });

  void test('webhook: one attempt per delivery; 503 rejects retriably with Retry-After, the retry policy resends', async () => {
    const server = await receiver([503, 503, 204], { 'retry-after': '0' });
    try {
      const sink = new WebhookSink({ url: server.url, headers: { authorization: 'Bearer t' }, timeoutMs: 2000 });
      await assert.rejects(
        sink.deliver([a1, a2]),
        (error) => isMcpwatchError(error, 'DELIVERY_FAILED') && error.retriable && error.retryAfterMs === 0,
      );
      assert.equal(server.bodies.length, 1, 'the sink does not retry by itself');
      assert.equal((await sink.health()).healthy, false);
      await retryPolicy({ attempts: 5, baseDelayMs: 1, maxDelayMs: 5 }).execute(() => sink.deliver([a1, a2]));
      assert.equal(server.bodies.length, 3);
      assert.deepEqual(server.bodies[2], [a1, a2]);
      assert.deepEqual(await sink.health(), { healthy: true });
    } finally {
      await server.close();
    }
  });

  void test('webhook: a 4xx is final, an unreachable receiver retriable; no secret in the message', async () => {
    const refusing = await receiver([400]);
    try {
      const options = { headers: {}, timeoutMs: 2000 };
      await assert.rejects(
        new WebhookSink({ ...options, url: refusing.url }).deliver([a1]),
        (error) => isMcpwatchError(error, 'DELIVERY_FAILED') && !error.retriable && !error.message.includes('secret'),
      );
      assert.equal(refusing.bodies.length, 1);
      const sink = new WebhookSink({ ...options, url: 'http://127.0.0.1:1/alerts?token=secret' });
      await assert.rejects(
        sink.deliver([a1]),
        (error) => isMcpwatchError(error, 'DELIVERY_FAILED') && error.retriable && !error.message.includes('secret'),
      );
      assert.equal((await sink.health()).healthy, false);
    } finally {
      await refusing.close();
    }
  });
});
