import { join } from "node:path";
import { withFileLock } from "@store/internal";

/** What a writer lock is given: how long to wait, who to tell, what ends the wait. */
export interface WriterLockOptions {
  timeoutMs?: number;
  onWait?: (owner: number | undefined) => void;
  signal?: AbortSignal;
}

/** A held writer lock; `release()` gives it back (once; later calls do nothing). */
export interface WriterLock {
  readonly path: string;
  release(): Promise<void>;
}

/** How long a writer waits for another to finish with the same root (a big load takes minutes). */
export const WRITER_WAIT_MS = 10 * 60 * 1000;

/**
 * Takes `<root>/store.lock`, the root-wide writer lock: one writing process at a time per root.
 * Each process keeps its own view of layer references in memory, so two loads, or a load and
 * an rmi, side by side could each remove or overwrite what the other just wrote. Readers need
 * no turn (files change atomically). A lock whose holder died is taken over.
 */
export async function acquireWriterLock(root: string, options: WriterLockOptions = {}): Promise<WriterLock> {
  const path = join(root, "store.lock");
  let entered!: () => void;
  let leave!: () => void;
  const inside = new Promise<void>((resolve) => (entered = resolve));
  const left = new Promise<void>((resolve) => (leave = resolve));
  const held = withFileLock(
    path,
    async () => {
      entered();
      await left;
    },
    options.timeoutMs ?? WRITER_WAIT_MS,
    options.onWait,
    options.signal,
  );
  // Either the lock is ours, or the wait failed (timeout, abort) and `held` rejects first.
  await Promise.race([inside, held]);
  let released: Promise<void> | undefined;
  return {
    path,
    release() {
      leave();
      return (released ??= held);
    },
  };
}
