/**
 * `source`, failing with the signal's reason as soon as `signal` is aborted — also while waiting
 * for a chunk that may never come (a pipe left open), which is when Ctrl-C matters most.
 */
export async function* abortable<T>(source: AsyncIterable<T> | Iterable<T>, signal: AbortSignal | undefined): AsyncGenerator<T> {
  if (!signal) {
    yield* source;
    return;
  }
  signal.throwIfAborted();
  const iterator = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : toAsync(source[Symbol.iterator]());
  try {
    for (;;) {
      // An abort between two reads fires no event for a listener added after it: check first.
      // (It was missed so, and a save -o interrupted mid-way wrote the whole archive, exit 0.)
      signal.throwIfAborted();
      // A fresh abort promise per read, its listener removed after: racing one long-lived
      // promise would keep a handler per chunk alive (millions for a big save).
      let onAbort: (() => void) | undefined;
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(signal.reason);
        signal.addEventListener("abort", onAbort, { once: true });
      });
      let next: IteratorResult<T>;
      try {
        next = await Promise.race([iterator.next(), aborted]);
      } finally {
        signal.removeEventListener("abort", onAbort!);
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    // Stops the source (a stream is destroyed), which also ends a read still pending.
    await Promise.race([iterator.return?.(), new Promise((r) => setTimeout(r, 100))]).catch(() => undefined);
  }
}

function toAsync<T>(iterator: Iterator<T>): AsyncIterator<T> {
  return {
    next: async () => iterator.next(),
    return: async () => iterator.return?.() ?? { done: true, value: undefined },
  };
}

/**
 * Runs `work`; once `signal` is aborted, whatever it throws (a store's error wrapping the abort,
 * or the abort itself) becomes the signal's reason, so a caller sees one cancellation, not an
 * I/O error of whichever step the abort happened to stop.
 */
export async function cancellable<T>(signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (signal?.aborted) throw signal.reason;
    throw e;
  }
}
