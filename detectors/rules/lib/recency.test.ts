import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sizeOf, touch, trimOldest } from './recency.ts';

/** What the rules did before: delete and re-set, then drop the first `Object.keys` beyond the cap. */
function naive(record: Record<string, number>, key: string, value: number, max: number): string[] {
  delete record[key];
  record[key] = value;
  const keys = Object.keys(record);
  const stale = keys.slice(0, Math.max(0, keys.length - max));
  for (const old of stale) delete record[old];
  return stale;
}

void test('touch and trimOldest keep exactly the keys, values and order that delete and Object.keys gave', () => {
  // Array indices ("3"), keys that only look like them ("03", "-1", "4294967295"), and `__proto__`.
  const pool = ['a', 'b', 'c', 'd', 'e', 'f', '3', '10', '03', '-1', '4294967295', '4294967294', '__proto__'];
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed % n;
  };
  for (let round = 0; round < 200; round += 1) {
    const max = 1 + random(6);
    const expected = JSON.parse(round % 2 === 0 ? '{}' : '{"__proto__":1,"7":2,"z":3}') as Record<string, number>;
    const actual: Record<string, number> = JSON.parse(JSON.stringify(expected)) as Record<string, number>;
    for (let step = 0; step < 60; step += 1) {
      const key = pool[random(pool.length)]!;
      const stale = naive(expected, key, step, max);
      touch(actual, key, step);
      assert.deepEqual(
        trimOldest(actual, max).map(([old]) => old),
        stale,
      );
      assert.deepEqual(Object.entries(actual), Object.entries(expected));
      assert.equal(sizeOf(actual), Object.keys(expected).length);
    }
  }
});
