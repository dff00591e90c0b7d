/** Hands batches from a push callback to an async iterator, one at a time: `push` waits until taken. */
export class BatchChannel<T> implements AsyncIterable<T[]> {
  #pending: { items: T[]; taken: () => void } | undefined;
  #wake: (() => void) | undefined;
  #ended = false;
  #error: Error | undefined;

  push(items: T[]): Promise<void> {
    if (this.#ended) return Promise.resolve();
    return new Promise((taken) => {
      this.#pending = { items, taken };
      this.#wake?.();
    });
  }

  end(): void {
    this.#ended = true;
    this.#pending?.taken();
    this.#wake?.();
  }

  fail(error: Error): void {
    this.#error ??= error;
    this.end();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T[]> {
    for (;;) {
      const pending = this.#pending;
      if (pending !== undefined) {
        this.#pending = undefined;
        yield pending.items;
        pending.taken();
        continue;
      }
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended) return;
      await new Promise<void>((wake) => {
        this.#wake = wake;
      });
      this.#wake = undefined;
    }
  }
}
