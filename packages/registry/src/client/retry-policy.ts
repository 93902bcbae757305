import { sleep as abortableSleep } from "@store/internal";
import { RegistryError, RegistryErrorCode } from "../errors";
import { NetworkError } from "./http-transport";

/** How the client retries a request that failed for a reason that may pass. */
export interface RetryOptions {
  /** Attempts in all, the first included (default 5, as moby's max-download-attempts). */
  attempts?: number;
  /** The first backoff; it doubles per attempt, with jitter (default 1000 ms). */
  baseDelayMs?: number;
  /** The longest backoff (default 30 s). */
  maxDelayMs?: number;
  /**
   * The longest `Retry-After` (429/503) the client waits (default 60 s, as containers/image).
   * A registry asking for longer gets no retry: the error says how long it asked for.
   */
  maxRetryAfterMs?: number;
}

export type ResolvedRetry = Required<RetryOptions>;

export function resolveRetry(options: RetryOptions = {}): ResolvedRetry {
  return {
    attempts: Math.max(1, options.attempts ?? 5),
    baseDelayMs: options.baseDelayMs ?? 1_000,
    maxDelayMs: options.maxDelayMs ?? 30_000,
    maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
  };
}

/** Exponential backoff with equal jitter: half the step fixed, half random, so clients spread out. */
export function backoffDelay(attempt: number, retry: ResolvedRetry): number {
  const step = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(step / 2 + (Math.random() * step) / 2);
}

/** `Retry-After` as milliseconds from now: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Statuses worth another try: timeouts, rate limits and the server's transient failures. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status === 500 || status === 502 || status === 503 || status === 504;
}

const retryableNetworkCodes = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ETIMEDOUT",
  "ESTALL",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "ECONNABORTED",
  "UND_ERR_SOCKET",
]);

/** Whether a thrown error is a network failure worth another try (resets, refusals, timeouts, stalls). */
export function isRetryableNetworkError(error: unknown): error is NetworkError {
  return error instanceof NetworkError && retryableNetworkCodes.has(error.code);
}

/** Waits `ms`, or rejects at once (a RegistryError naming the wait) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return abortableSleep(ms, signal).catch((reason: unknown) => {
    throw new RegistryError(RegistryErrorCode.Aborted, "aborted while waiting to retry", { cause: reason });
  });
}
