/**
 * Plain objects used as least-recently-used maps in rule state (state stays plain JSON for checkpoints):
 * `touch` sets a key last, `trimOldest` drops the first keys beyond a cap in `Object.keys` order, which is what
 * the rules did with `delete` and `Object.keys(...).slice(...)`: array-index keys first (ascending), then the
 * others in insertion order. O(1) per call instead of O(keys): the size, and once a record is trimmed its order,
 * are kept in an index beside the object, built from it on first use (after a restore, say). Every write to such
 * an object must go through these two.
 */

interface Order {
  /** How many keys the record holds. */
  size: number;
  /**
   * Every key, in insertion order: built the first time the record is trimmed, then kept up to date. A record
   * that never outgrows its cap pays no more per touch than the object's own delete and set.
   */
  keys: Set<string> | undefined;
  /** Keys that are array indices: JavaScript lists them first, so then `Object.keys` decides what is oldest. */
  indexKeys: number;
}

const ORDERS = new WeakMap<object, Order>();

/** `"7"` is an array index (listed first, by value); `"07"`, `"-1"` and `"4294967295"` are not. */
function isArrayIndex(key: string): boolean {
  const value = Number(key);
  return value >>> 0 === value && value !== 4_294_967_295 && String(value) === key;
}

function orderOf(record: object): Order {
  let order = ORDERS.get(record);
  if (order === undefined) {
    order = { size: Object.keys(record).length, keys: undefined, indexKeys: 0 };
    ORDERS.set(record, order);
  }
  return order;
}

/** Sets `record[key]` and makes it the most recently used key. */
export function touch<Value>(record: Record<string, Value>, key: string, value: Value): void {
  const order = orderOf(record);
  const held = Object.hasOwn(record, key);
  delete record[key];
  record[key] = value;
  if (key === '__proto__' && !Object.hasOwn(record, key)) {
    // The assignment set the prototype, not a key.
    if (held) {
      order.size -= 1;
      order.keys?.delete(key);
    }
    return;
  }
  if (!held) order.size += 1;
  const keys = order.keys;
  if (keys === undefined) return;
  keys.delete(key);
  if (!held && isArrayIndex(key)) order.indexKeys += 1;
  keys.add(key);
}

/** How many keys `record` holds. */
export function sizeOf(record: Record<string, unknown>): number {
  return orderOf(record).size;
}

/** Deletes the oldest keys until at most `max` are left; returns what it deleted, oldest first. */
export function trimOldest<Value>(record: Record<string, Value>, max: number): [string, Value][] {
  const order = orderOf(record);
  const excess = order.size - max;
  if (excess <= 0) return [];
  let keys = order.keys;
  if (keys === undefined) {
    keys = order.keys = new Set(Object.keys(record));
    for (const key of keys) if (isArrayIndex(key)) order.indexKeys += 1;
  }
  const stale = order.indexKeys > 0 ? Object.keys(record).slice(0, excess) : [...take(keys, excess)];
  const removed: [string, Value][] = [];
  for (const key of stale) {
    removed.push([key, record[key]!]);
    delete record[key];
    keys.delete(key);
    order.size -= 1;
    if (isArrayIndex(key)) order.indexKeys -= 1;
  }
  return removed;
}

function* take(keys: Set<string>, count: number): Generator<string> {
  if (count <= 0) return;
  for (const key of keys) {
    yield key;
    if (--count === 0) return;
  }
}
