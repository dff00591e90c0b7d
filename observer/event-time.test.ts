import assert from 'node:assert/strict';
import { test } from 'node:test';
import { epochMsOf, isoNow, isoTime } from './event-time.ts';

const EDGES = [
  0,
  1,
  -1,
  999,
  1000,
  86_399_999,
  86_400_000,
  -86_400_000,
  -86_400_001,
  951_782_400_000,
  951_868_799_999,
  4_102_444_800_000,
  253_402_300_799_999,
  253_402_300_800_000,
  -62_135_596_800_000,
  8.64e15,
  -8.64e15,
  1.5e12 + 0.7,
  -0.5,
];

void test('formats every time exactly as Date.prototype.toISOString', () => {
  const times = [...EDGES, Date.now()];
  for (let index = 0; index < 20_000; index++) times.push(Math.floor((Math.random() * 2 - 0.6) * 4e12));
  for (const ms of times) assert.equal(isoTime(ms), new Date(ms).toISOString(), `epoch ms ${ms}`);
});

void test('reads back what it formatted, and any other date string as Date.parse does', () => {
  const now = isoNow();
  assert.equal(epochMsOf(now), Date.parse(now));
  for (const ms of [...EDGES, Date.now() + 1234]) {
    const text = isoTime(ms);
    assert.equal(epochMsOf(text), Date.parse(text), text);
  }
  for (const text of [
    '2026-11-27T16:45:00Z',
    '2026-11-27T16:45:00.000+01:00',
    'not a date',
    `${now.slice(0, 11)}9x:00:00.000Z`,
  ])
    assert.deepEqual(epochMsOf(text), Date.parse(text), text);
});
