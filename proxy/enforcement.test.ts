/**
 * `--enforce` when the pin store cannot be read: fail-closed (the default) withholds every tool and refuses
 * its calls, each block an `enforcement` event; fail-open serves every tool. A readable store pins first use.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { pino } from 'pino';
import { Telemetry } from '../observer/telemetry.ts';
import { ToolGate } from './enforcement.ts';
import type { PinStoreFailureMode } from './enforcement.ts';
import { PinStore } from './pin-store.ts';

const TOOLS = [
  { name: 'add', description: 'Adds two numbers.', inputSchema: { type: 'object' } },
  { name: 'multiply', description: 'Multiplies two numbers.', inputSchema: { type: 'object' } },
];

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcpwatch-enforcement-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function gate(file: string, onUnreadable: PinStoreFailureMode) {
  const exporter = new InMemoryLogRecordExporter();
  const loggerProvider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter })] });
  const toolGate = new ToolGate({
    store: PinStore.forServer('calc', file),
    onUnreadable,
    telemetry: new Telemetry({ loggerProvider }),
    server: { name: 'calc' },
    transport: 'stdio',
    logger: pino({ level: 'silent' }),
  });
  const events = (): Record<string, unknown>[] =>
    exporter.getFinishedLogRecords().map((record) => record.body as Record<string, unknown>);
  return { toolGate, events };
}

void test('fail-closed: an unreadable pin store withholds every tool and refuses its calls', async () => {
  const file = join(dir, 'corrupt-closed.json');
  await writeFile(file, '{ not json');
  const { toolGate, events } = gate(file, 'closed');
  assert.deepEqual(await toolGate.filterToolList(TOOLS), []);
  assert.deepEqual(await toolGate.refusal('add'), { reason: 'pin-store-unreadable' });
  const blocks = events().filter((event) => event['kind'] === 'enforcement' && event['action'] === 'blocked');
  assert.deepEqual(
    blocks.map((event) => `${String(event['tool'])}:${String(event['reason'])}:${String(event['appliedTo'])}`).sort(),
    [
      'add:pin-store-unreadable:tools/call',
      'add:pin-store-unreadable:tools/list',
      'multiply:pin-store-unreadable:tools/list',
    ],
  );
  assert.equal(await readFile(file, 'utf8'), '{ not json', 'the unreadable store is left as it was');
});

void test('fail-open: an unreadable pin store serves every tool and refuses nothing', async () => {
  const file = join(dir, 'corrupt-open.json');
  await writeFile(file, JSON.stringify({ version: 1, server: 'calc', tools: { add: { hash: 'not-a-hash' } } }));
  const { toolGate, events } = gate(file, 'open');
  assert.deepEqual(await toolGate.filterToolList(TOOLS), TOOLS);
  assert.equal(await toolGate.refusal('add'), undefined);
  assert.deepEqual(events(), []);
});

void test('a readable store pins each tool on first use', async () => {
  const file = join(dir, 'fresh.json');
  const { toolGate, events } = gate(file, 'closed');
  assert.deepEqual(await toolGate.filterToolList(TOOLS), TOOLS);
  const pins = JSON.parse(await readFile(file, 'utf8')) as { tools: Record<string, { hash?: string }> };
  assert.match(pins.tools['add']?.hash ?? '', /^sha256:[0-9a-f]{64}$/);
  assert.deepEqual(
    events()
      .map((event) => `${String(event['action'])}:${String(event['tool'])}`)
      .sort(),
    ['pinned:add', 'pinned:multiply'],
  );
});
