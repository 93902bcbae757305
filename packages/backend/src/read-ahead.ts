/**
 * Calls `consume` with `read(item)` for each item in order, while up to `window` reads run
 * ahead: I/O overlaps at the medium's pace (a disk's thread pool, S3 round trips), yet the
 * consumer sees items in the order given, so what it builds never depends on I/O timing.
 * The first failure (of a read or of `consume`) stops it and is thrown; reads already under
 * way are left to finish, their failures ignored.
 */
export async function readAhead<T, R>(
  items: readonly T[],
  window: number,
  read: (item: T) => Promise<R>,
  consume: (item: T, value: R) => void | Promise<void>,
): Promise<void> {
  const pending: (Promise<R> | undefined)[] = new Array(items.length);
  let started = 0;
  for (let i = 0; i < items.length; i++) {
    while (started < items.length && started < i + window) {
      const p = read(items[started]!);
      // Observed now so that a failure ahead of the one awaited is not an unhandled rejection;
      // it is thrown when its turn comes.
      p.catch(() => undefined);
      pending[started++] = p;
    }
    const value = await pending[i]!;
    pending[i] = undefined;
    const done = consume(items[i]!, value);
    if (done) await done;
  }
}
