import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MinHeap } from './min-heap.ts';

void test('pops in the order of `before` under interleaved pushes and pops', () => {
  interface Item {
    at: number;
    seq: number;
  }
  const heap = new MinHeap<Item>((a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq));
  const reference: Item[] = [];
  const popped: Item[] = [];
  const expected: Item[] = [];
  let state = 7;
  const random = (): number => (state = (state * 48_271) % 2_147_483_647) % 50;
  for (let seq = 0; seq < 2_000; seq++) {
    const item = { at: random(), seq };
    heap.push(item);
    reference.push(item);
    if (seq % 3 === 2) {
      reference.sort((a, b) => a.at - b.at || a.seq - b.seq);
      expected.push(reference.shift()!);
      popped.push(heap.pop()!);
    }
  }
  assert.equal(heap.size, reference.length);
  reference.sort((a, b) => a.at - b.at || a.seq - b.seq);
  assert.deepEqual(heap.peek(), reference[0]);
  while (heap.size > 0) popped.push(heap.pop()!);
  assert.deepEqual(popped, [...expected, ...reference]);
  assert.equal(heap.pop(), undefined);
});
