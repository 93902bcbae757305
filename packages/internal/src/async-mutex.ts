/**
 * A FIFO async mutex: sections run one at a time, in the order they asked. Stores that mutate
 * shared maps across awaits (the layer store's refcounts, the image and reference stores' maps)
 * hold it for their bookkeeping, as moby holds a store-wide mutex for the same sections; the slow
 * parts (unpacking, hashing) run outside it. A section that throws releases it all the same.
 */
export class AsyncMutex {
  #tail: Promise<void> = Promise.resolve();

  /** Runs `fn` once every earlier section has settled; returns (or throws) what `fn` does. */
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
