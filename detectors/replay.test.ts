import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { Alert } from '../contracts/alert.ts';
import { isMcpwatchError } from '../contracts/errors.ts';
import { callEvent, testRules } from '../test/detectors-test-rule.ts';
import { parseDetectorsConfig } from './config.ts';
import { alertIdOf } from './engine.ts';
import { forEachBoundedLine, replayFile } from './replay.ts';
import { FileSink } from './sinks/file.ts';

const config = parseDetectorsConfig({}, testRules);

void describe('replay', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(path.join(tmpdir(), 'mcpwatch-replay-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  void test('sorts by event time, counts bad lines by number and writes the alerts', async () => {
    const input = path.join(dir, 'events.jsonl');
    const lines = [
      JSON.stringify(callEvent('e2', 5, 's1', 'bob')), // recorded before the event it follows
      'not json',
      JSON.stringify({ ...callEvent('e3', 6, 's2', 'x'), kind: 'mystery' }),
      '',
      JSON.stringify(callEvent('e1', 1, 's1', 'alice')),
      JSON.stringify(callEvent('e4', 7, 's1', 'alice')),
    ];
    await writeFile(input, lines.join('\n')); // no final newline: the last line still counts
    const alertsOut = path.join(dir, 'alerts.jsonl');
    const sink = new FileSink(alertsOut);
    const report = await replayFile(input, { config, sinks: [sink], progress: false });
    await sink.close();
    assert.equal(report.lines, 6);
    assert.equal(report.events, 3);
    assert.equal(report.badLines, 2);
    assert.deepEqual(
      report.badLineSamples.map((bad) => bad.line),
      [2, 3],
    );
    assert.match(report.badLineSamples[1]!.reason, /^kind: /);
    const alerts = (await readFile(alertsOut, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Alert);
    assert.deepEqual(
      alerts.map((alert) => [alert.alertId, alert.evidence]),
      [[alertIdOf('test-session-two-principals', 1, 's1'), { principals: ['alice', 'bob'] }]],
    );
    assert.deepEqual(report.alertsByRule, { 'test-session-two-principals': 1 });
  });

  void test('strict mode stops at the first bad line, naming it', async () => {
    const input = path.join(dir, 'strict.jsonl');
    await writeFile(input, `${JSON.stringify(callEvent('e1', 1, 's1', 'alice'))}\n{"kind":"call"}\n`);
    await assert.rejects(
      replayFile(input, { config, sinks: [], strict: true, progress: false }),
      (error) => isMcpwatchError(error, 'INPUT_INVALID') && error.message.startsWith(`${input}:2: `),
    );
  });

  void test('a line over the bound is a bad line, never buffered whole', async () => {
    const input = path.join(dir, 'long.jsonl');
    await writeFile(input, `short\n${'x'.repeat(300_000)}\nafter\n${'y'.repeat(200)}`);
    const seen: [number, string | undefined][] = [];
    await forEachBoundedLine(input, 100, (line, text) => seen.push([line, text]));
    assert.deepEqual(seen, [
      [1, 'short'],
      [2, undefined],
      [3, 'after'],
      [4, undefined],
    ]);
  });

  void test('lines across reads are joined whole, a character split by a read included; over the bound, dropped', async () => {
    const input = path.join(dir, 'across.jsonl');
    const read = 1_048_576;
    // `é` is two bytes: the first line puts one of them at each side of the first read's end.
    const first = `${'a'.repeat(read - 1)}é${'b'.repeat(10)}`;
    const second = 'c'.repeat(3 * read);
    const third = `${'d'.repeat(read)}€`;
    await writeFile(input, `${first}\n${second}\n${third}\nlast`);
    const seen: [number, string | undefined][] = [];
    await forEachBoundedLine(input, 2 * read, (line, text) => seen.push([line, text]));
    assert.deepEqual(seen, [
      [1, first],
      [2, undefined],
      [3, third],
      [4, 'last'],
    ]);
  });

  void test('draws a progress bar on the stream it is given', async () => {
    const input = path.join(dir, 'progress.jsonl');
    await writeFile(input, `${JSON.stringify(callEvent('e1', 1, 's1', 'alice'))}\n`);
    const out = new PassThrough();
    let drawn = '';
    out.on('data', (chunk: Buffer) => (drawn += chunk.toString('utf8')));
    await replayFile(input, { config, sinks: [], progress: out });
    assert.match(drawn, /reading +\[#+\] 100%/);
  });
});
