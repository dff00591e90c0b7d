import assert from 'node:assert/strict';
import { test } from 'node:test';
import canonicalize from 'canonicalize';
import { canonicalJson, contentHash } from './content-hash.ts';

const samples: unknown[] = [
  null,
  true,
  0,
  -0,
  1e21,
  0.1 + 0.2,
  'text with "quotes", \\ and \u001b',
  [],
  {},
  [1, 'a', null, [2, [3]], { b: 1, a: [{}] }],
  {
    z: 1,
    a: { y: [true, false], b: 'x' },
    é: 'accent',
    A: 'upper',
    '': 'empty',
    '\u20ac': 'euro',
    '\ud83d\ude00': 'emoji',
  },
  { skipped: undefined, kept: [undefined, 1] },
  { nested: { date: new Date(0) } },
];

test('canonical JSON is what the canonicalize package writes for JSON data (RFC 8785)', () => {
  for (const sample of samples) assert.equal(canonicalJson(sample), canonicalize(sample), JSON.stringify(sample));
});

test('a 20,000-deep value is serialized and hashed, not a stack overflow; its depth is measured', () => {
  let deep: unknown = 'bottom';
  for (let level = 0; level < 20_000; level++) deep = level % 2 === 0 ? [deep] : { next: deep };
  const stats = { depth: 0 };
  const json = canonicalJson(deep, stats);
  assert.equal(stats.depth, 20_000);
  assert.ok(json.endsWith('"bottom"' + ']}'.repeat(10_000)));
  assert.match(contentHash(deep), /^sha256:[0-9a-f]{64}$/);
});

test('a lone surrogate is escaped and a cycle refused', () => {
  assert.equal(canonicalJson('\ud800'), '"\\ud800"');
  const cycle: Record<string, unknown> = {};
  cycle['self'] = cycle;
  assert.throws(() => canonicalJson(cycle), /Circular/);
  const shared = { a: 1 };
  assert.equal(canonicalJson([shared, shared]), '[{"a":1},{"a":1}]');
});
