import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatGoalTable, formatTable, measure, quantile, type Measurement } from './harness.ts';

void test('quantile interpolates between the closest ranks', () => {
  assert.equal(quantile([4, 1, 3, 2], 0.5), 2.5);
  assert.equal(quantile([10, 20, 30, 40, 50], 0.25), 20);
  assert.equal(quantile([7], 0.75), 7);
  assert.throws(() => quantile([], 0.5), RangeError);
});

void test('measure runs warm-ups untimed, then one sample per run with setup and teardown around each', async () => {
  const calls: string[] = [];
  let round = 0;
  const measurement = await measure({
    name: 'fixed',
    runs: 3,
    warmups: 2,
    setup: () => Promise.resolve(++round),
    run: (state) => {
      calls.push(`run ${state}`);
      return Promise.resolve({ units: 100 * state, timedMs: 50 });
    },
    teardown: (state) => {
      calls.push(`teardown ${state}`);
      return Promise.resolve();
    },
  });
  assert.deepEqual(calls, [
    'run 1',
    'teardown 1',
    'run 2',
    'teardown 2',
    'run 3',
    'teardown 3',
    'run 4',
    'teardown 4',
    'run 5',
    'teardown 5',
  ]);
  assert.deepEqual(measurement.units, [300, 400, 500]);
  assert.deepEqual(measurement.samples, [6000, 8000, 10_000]);
});

void test('measure refuses a run that handled nothing, and bad run counts', async () => {
  await assert.rejects(
    measure({ name: 'empty', runs: 1, warmups: 0, run: () => Promise.resolve({ units: 0 }) }),
    RangeError,
  );
  await assert.rejects(measure({ name: 'none', runs: 0, run: () => Promise.resolve({ units: 1 }) }), RangeError);
});

void test('formatTable shows median, spread and the ratio of medians to the baseline', () => {
  const row = (name: string, samples: number[]): Measurement => ({ name, samples, units: [], durationsMs: [] });
  const table = formatTable('Throughput', [row('base', [90, 100, 110]), row('twice', [150, 200, 250, 300, 175])], {
    baseline: 'base',
    unit: 'records/s',
  });
  const lines = table.split('\n');
  assert.equal(lines[0], '### Throughput');
  assert.match(lines[4] ?? '', /^\| base +\| +100 \| +95–105 \| +90–110 \| 1\.00× \(baseline\) \| +3 \|$/);
  assert.match(lines[5] ?? '', /^\| twice +\| +200 \| +175–250 \| +150–300 \| +2\.00× \| +5 \|$/);
  assert.throws(() => formatTable('t', [row('a', [1])], { baseline: 'missing', unit: 'x' }), RangeError);
});

void test('formatGoalTable prints figure, measured, same-run baseline, ratio and goal, and whether it is met', () => {
  const table = formatGoalTable([
    { figure: 'replay', measured: '9.0 s CPU', baseline: 'read: 3.0 s', ratio: '0.33×', goal: '≥ 0.3×', met: true },
    { figure: 'memory', measured: '600 B', baseline: '—', ratio: '—', goal: '≤ 512 B', met: false },
  ]).split('\n');
  assert.deepEqual(table, [
    '| figure | measured | same-run baseline | ratio | goal |',
    '| --- | --- | --- | --- | --- |',
    '| replay | 9.0 s CPU | read: 3.0 s | 0.33× | ≥ 0.3× (met) |',
    '| memory | 600 B | — | — | ≤ 512 B (not met) |',
  ]);
});
