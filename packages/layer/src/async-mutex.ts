/**
 * A FIFO async mutex. The layer store's bookkeeping (maps, refcounts, commits) must not
 * interleave across awaits; the slow parts (unpacking, hashing) run outside it.
 */
export class AsyncMutex {
  #tail: Promise<void> = Promise.resolve();

  async run<T>(fn: () => Promise<T> | T): Promise<T> {
    const previous = this.#tail;
    let release!: () => void;
    this.#tail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
