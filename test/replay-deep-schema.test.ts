/**
 * Issue #14 finding 3: a tool definition nested 20,000 levels deep must not suppress drift in `replay` (it made
 * the drift rule fail on that event, silently). The line is flattened past a bound as the collector does.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Alert } from '../contracts/alert.ts';
import { flattenDeepValues } from '../contracts/parse.ts';
import { FLATTENED_VALUE_MARKER } from '../contracts/signals.ts';
import { loadDetectorsConfig } from '../cli/detectors-config.ts';
import { replayFile } from '../detectors/replay.ts';
import { RULES } from '../detectors/rules/index.ts';
import type { AlertSink } from '../detectors/sinks/types.ts';

function catalog(id: string, time: string, description: string, toolHash: string, inputSchema?: string): string {
  const line = JSON.stringify({
    schemaVersion: 1,
    kind: 'tool-catalog',
    eventId: id,
    time,
    server: { name: 'weather' },
    trigger: 'tools/list',
    tools: [{ name: 'get_forecast', description, hash: `sha256:${toolHash.repeat(64)}`, inputSchema: '__SCHEMA__' }],
    listHash: `sha256:${toolHash.repeat(64)}`,
  });
  return line.replace('"__SCHEMA__"', inputSchema ?? '{}');
}

void test('flattenDeepValues bounds depth in place without recursion', () => {
  let deep: unknown = 'leaf';
  for (let depth = 0; depth < 100_000; depth++) deep = { properties: deep };
  const root = { tools: [deep] };
  assert.equal(flattenDeepValues(root, 10), 1);
  let value: unknown = root.tools[0];
  let levels = 2;
  while (typeof value === 'object' && value !== null) {
    value = (value as { properties: unknown }).properties;
    levels++;
  }
  assert.equal(value, FLATTENED_VALUE_MARKER);
  assert.equal(levels, 10, 'root, tools and eight definitions levels: ten kept');
});

void test('replay still raises drift when the changed definition nests 20,000 levels deep', async () => {
  const directory = await mkdtemp(path.join(tmpdir(), 'mcpwatch-deep-'));
  try {
    let schema = '"string"';
    for (let depth = 0; depth < 20_000; depth++) schema = `{"properties":${schema}}`;
    const file = path.join(directory, 'events.jsonl');
    await writeFile(
      file,
      [
        catalog('c1', '2026-11-22T10:00:00.000Z', 'Weather.', '1'),
        catalog('c2', '2026-11-22T10:05:00.000Z', 'Weather, and more.', '2', schema),
      ].join('\n') + '\n',
    );
    const alerts: Alert[] = [];
    const sink: AlertSink = {
      name: 'collect',
      deliver: (batch) => Promise.resolve(void alerts.push(...batch)),
      health: () => Promise.resolve({ healthy: true }),
      close: () => Promise.resolve(),
    };
    const report = await replayFile(file, {
      config: await loadDetectorsConfig(RULES, {}),
      sinks: [sink],
      progress: false,
    });
    assert.equal(report.events, 2);
    assert.equal(report.ruleErrors, 0);
    // The drift is not hidden, and the shape that tried to hide it is itself an alert.
    assert.deepEqual(alerts.map((alert) => alert.ruleId).sort(), ['abnormal-tool-definition', 'tool-definition-drift']);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});
