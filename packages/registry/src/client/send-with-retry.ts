import { RegistryError, RegistryErrorCode } from "../errors";
import type { RetryNotice } from "../repository";
import { type HttpRequest, type HttpResponse, type HttpTransport, NetworkError } from "./http-transport";
import { type ResolvedRetry, backoffDelay, isRetryableNetworkError, isRetryableStatus, parseRetryAfter, sleep } from "./retry-policy";
import { registryErrorFromBody } from "./response-error";

export interface SendContext {
  transport: HttpTransport;
  retry: ResolvedRetry;
  signal?: AbortSignal;
  onRetry?: (notice: RetryNotice) => void;
  /**
   * Whether the request may be sent again after a network failure: its body can be replayed and
   * sending it twice does no harm (GET, HEAD, PUT, DELETE, not POST or PATCH of an upload).
   */
  replayable: boolean;
  idempotent: boolean;
}

/**
 * Sends a request, again on the failures that may pass: network resets, refusals, timeouts and
 * stalls (idempotent, replayable requests only), and 408/429/5xx (replayable bodies only), with
 * backoff and jitter; a 429 or 503's `Retry-After` is honoured up to `maxRetryAfterMs`, beyond
 * which the response is returned for the caller to report. `make` builds each attempt, so every
 * attempt carries fresh authorization.
 */
export async function sendWithRetry(make: () => Promise<HttpRequest>, ctx: SendContext): Promise<HttpResponse> {
  const { retry } = ctx;
  for (let attempt = 1; ; attempt++) {
    let res: HttpResponse;
    try {
      res = await ctx.transport.send(await make());
    } catch (error) {
      if (isRetryableNetworkError(error) && ctx.replayable && ctx.idempotent && attempt < retry.attempts) {
        const delayMs = backoffDelay(attempt, retry);
        ctx.onRetry?.({ attempt, delayMs, reason: error });
        await sleep(delayMs, ctx.signal);
        continue;
      }
      throw asRegistryError(error);
    }
    if (isRetryableStatus(res.status) && ctx.replayable && attempt < retry.attempts) {
      const retryAfter = res.status === 429 || res.status === 503 ? parseRetryAfter(res.header("retry-after")) : undefined;
      // Asked to wait longer than we allow: better to say so than to hammer or to invent a delay.
      if (retryAfter !== undefined && retryAfter > retry.maxRetryAfterMs) return res;
      const delayMs = retryAfter ?? backoffDelay(attempt, retry);
      res.discard();
      ctx.onRetry?.({ attempt, delayMs, reason: registryErrorFromBody(res.status, new Uint8Array()) });
      await sleep(delayMs, ctx.signal);
      continue;
    }
    return res;
  }
}

/**
 * A network failure as a RegistryError (unavailable), one line naming the request; anything else
 * (a RegistryError, or the caller's own error from an upload's source) passes through unchanged.
 */
export function asRegistryError(error: unknown): unknown {
  if (!(error instanceof NetworkError)) return error;
  return new RegistryError(RegistryErrorCode.Unavailable, error.message, { cause: error, details: { errno: error.code } });
}
