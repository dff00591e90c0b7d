import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isMcpwatchError } from '../../contracts/errors.ts';
import { Spool } from './azure-monitor/spool.ts';

async function withDirectory(body: (directory: string) => Promise<void>): Promise<void> {
  const directory = await mkdtemp(join(tmpdir(), 'mcpwatch-spool-'));
  try {
    await body(directory);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

const rows = (from: number, count: number): { stream: string; row: Record<string, unknown> }[] =>
  Array.from({ length: count }, (_, index) => ({
    stream: 'Custom-MCPWatchAlerts',
    row: { AlertId: `a${from + index}` },
  }));

const ids = (spool: Spool): unknown[] => spool.peek().map(({ row }) => row.AlertId);

void test('rows appended and not acked are read back after reopening, in order', async () => {
  await withDirectory(async (directory) => {
    const options = { directory, maxBytes: 1_000_000, segmentBytes: 64 };
    const first = (await Spool.open(options)).spool;
    await first.append(rows(0, 5));
    await first.append(rows(5, 5));
    await first.ack(first.peek()[3]!.seq + 1);
    await first.close();

    const { spool, recovery } = await Spool.open(options);
    assert.equal(recovery.pending, 6);
    assert.deepEqual(ids(spool), ['a4', 'a5', 'a6', 'a7', 'a8', 'a9']);
    await spool.append(rows(10, 1));
    assert.deepEqual(ids(spool).at(-1), 'a10');
    assert.equal(spool.peek().at(-1)!.seq, 10);
    await spool.close();
  });
});

void test('segments are removed once every row in them is acked', async () => {
  await withDirectory(async (directory) => {
    const { spool } = await Spool.open({ directory, maxBytes: 1_000_000, segmentBytes: 1 });
    for (let index = 0; index < 4; index += 1) await spool.append(rows(index, 1));
    const segments = async (): Promise<number> =>
      (await readdir(directory)).filter((name) => name.startsWith('segment-')).length;
    assert.equal(await segments(), 4);
    await spool.ack(3);
    assert.equal(await segments(), 1);
    assert.equal(spool.size, 1);
    await spool.close();
  });
});

void test('a half-written last line is cut off on recovery and later rows are appended cleanly', async () => {
  await withDirectory(async (directory) => {
    const options = { directory, maxBytes: 1_000_000, segmentBytes: 1_000_000 };
    const first = (await Spool.open(options)).spool;
    await first.append(rows(0, 2));
    await first.close();
    const [segment] = (await readdir(directory)).filter((name) => name.startsWith('segment-'));
    await appendFile(join(directory, segment!), '{"stream":"Custom-MCPWatchAlerts","row":{"Ale');

    const { spool, recovery } = await Spool.open(options);
    assert.equal(recovery.tornTail, true);
    assert.deepEqual(ids(spool), ['a0', 'a1']);
    await spool.append(rows(2, 1));
    await spool.close();
    assert.deepEqual(ids((await Spool.open(options)).spool), ['a0', 'a1', 'a2']);
  });
});

void test('refuses rows beyond maxBytes with a retriable DELIVERY_FAILED and keeps what it held', async () => {
  await withDirectory(async (directory) => {
    const { spool } = await Spool.open({ directory, maxBytes: 60, segmentBytes: 1_000 });
    await spool.append(rows(0, 2));
    await assert.rejects(
      spool.append(rows(2, 2)),
      (error) => isMcpwatchError(error, 'DELIVERY_FAILED') && error.retriable,
    );
    assert.deepEqual(ids(spool), ['a0', 'a1']);
    await spool.ack(1);
    await spool.append(rows(2, 1));
    assert.deepEqual(ids(spool), ['a1', 'a2']);
    await spool.close();
  });
});
