import { sleep } from "@store/internal";

/** Options of {@link pollUntil}. */
export interface PollOptions {
  signal?: AbortSignal;
  /** The first wait (default 16 ms), doubled per round up to `maxMs`. */
  firstMs?: number;
  /** The longest wait between two looks (default 1 s). */
  maxMs?: number;
}

/**
 * Calls `look` until it answers something other than undefined, waiting between calls with
 * containerd's ingest backoff (16 ms doubling up to 1 s, each wait drawn at random from its upper
 * half, so hosts that started together do not keep asking together).
 */
export async function pollUntil<T>(look: () => Promise<T | undefined>, options: PollOptions = {}): Promise<T> {
  const maxMs = options.maxMs ?? 1_000;
  let bound = options.firstMs ?? 16;
  for (;;) {
    const answer = await look();
    if (answer !== undefined) return answer;
    await sleep(bound / 2 + Math.random() * (bound / 2), options.signal);
    bound = Math.min(maxMs, bound * 2);
  }
}
