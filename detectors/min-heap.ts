/** A binary min-heap ordered by `before`; equal items come out in no set order, so callers break ties (a seq). */
export class MinHeap<T> {
  readonly #items: T[] = [];
  readonly #before: (a: T, b: T) => boolean;

  constructor(before: (a: T, b: T) => boolean) {
    this.#before = before;
  }

  get size(): number {
    return this.#items.length;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  push(item: T): void {
    const items = this.#items;
    // Sift up with a hole: parents move down until `item` fits, then it is written once.
    let index = items.length;
    items.push(item);
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const above = items[parent]!;
      if (!this.#before(item, above)) break;
      items[index] = above;
      index = parent;
    }
    items[index] = item;
  }

  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || items.length === 0) return top;
    // Sift `last` down from the root with a hole.
    const count = items.length;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= count) break;
      const right = left + 1;
      const child = right < count && this.#before(items[right]!, items[left]!) ? right : left;
      const below = items[child]!;
      if (!this.#before(below, last!)) break;
      items[index] = below;
      index = child;
    }
    items[index] = last!;
    return top;
  }
}
