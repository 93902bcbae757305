/**
 * `error` and what it wraps, outermost first, through `cause` (at most `limit` deep, so a cycle
 * ends): for a caller that must find the reason a wrapper hides (a network error under an
 * extractor's, zlib's code under a driver's).
 */
export function* causeChain(error: unknown, limit = 8): Generator<unknown> {
  let cause = error;
  for (let depth = 0; cause !== undefined && cause !== null && depth < limit; depth++) {
    yield cause;
    cause = (cause as { cause?: unknown }).cause;
  }
}
