/** Upper bound of one wait, so a long outage costs bounded time per attempt. */
const maxDelayMs = 5_000;
const baseDelayMs = 100;

/**
 * "Full jitter" exponential backoff (AWS architecture blog): a uniform draw in
 * [0, min(cap, base·2^attempt)], so many hosts retrying after one outage spread out instead of
 * hitting the server again in lockstep.
 */
export function retryDelayMs(attempt: number): number {
  return Math.floor(Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** attempt));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
