import { RegistryError, RegistryErrorCode } from "../errors";
import type { FetchBlobOptions } from "../repository";
import { type HttpResponse, NetworkError, withStallTimeout } from "./http-transport";
import { type ResolvedRetry, isRetryableNetworkError, sleep } from "./retry-policy";
import { asRegistryError } from "./send-with-retry";

/** Opens the blob from `offset` (a `Range` request when > 0): the response, already checked for success. */
export type OpenBlob = (offset: number, signal?: AbortSignal) => Promise<HttpResponse>;

export interface BlobReadOptions extends FetchBlobOptions {
  what: string;
  size?: number;
  retry: ResolvedRetry;
  stallTimeoutMs: number;
}

// containers/image's reconnect rate limit (docker/body_reader.go): a reconnect is allowed after
// this much progress since the last, or this long, or when it is the first.
const resumeMinProgress = 1 << 20;
const resumeMinIntervalMs = 60_000;

/**
 * A blob's bytes from `options.offset`, resumed transparently (containers/image's bodyReader): on
 * a reset, a truncated body or a stall it opens the blob again (the registry URL, not the
 * redirect target, whose signature may have expired) with `Range` from the byte it reached, and
 * the consumer sees one stream. A 206 must start at the offset asked; a 200 to a Range request
 * (a server that ignores Range) is read from its start with the prefix discarded. More bytes than
 * `size` end the stream in an error.
 */
export async function* readBlob(open: OpenBlob, options: BlobReadOptions): AsyncGenerator<Uint8Array> {
  let offset = options.offset ?? 0;
  const { size, what } = options;
  if (size !== undefined && offset > size) {
    throw new RegistryError(RegistryErrorCode.Invalid, `${what}: offset ${offset} is past the blob's size ${size}`, { details: { offset, size } });
  }
  let resumes = 0;
  let lastResumeAt = 0;
  let offsetAtLastResume = offset;
  for (;;) {
    if (size !== undefined && offset === size && offset > 0) return;
    let res: HttpResponse | undefined;
    try {
      res = await open(offset, options.signal);
      let skip = offset > 0 ? rangeSkip(res, offset, what) : 0;
      for await (const chunk of withStallTimeout(res.body, options.stallTimeoutMs, what)) {
        let bytes: Uint8Array = chunk;
        if (skip > 0) {
          const drop = Math.min(skip, bytes.byteLength);
          skip -= drop;
          bytes = bytes.subarray(drop);
          if (bytes.byteLength === 0) continue;
        }
        offset += bytes.byteLength;
        if (size !== undefined && offset > size) {
          res.body.destroy();
          throw new RegistryError(RegistryErrorCode.SizeMismatch, `${what}: more than the ${size} bytes its descriptor says`, { details: { size } });
        }
        yield bytes;
      }
      if (size === undefined || offset >= size) return;
      throw new NetworkError("ECONNRESET", `${what}: unexpected EOF after ${offset} of ${size} bytes`);
    } catch (error) {
      res?.body.destroy();
      const now = Date.now();
      const allowed = resumes === 0 || offset - offsetAtLastResume >= resumeMinProgress || now - lastResumeAt >= resumeMinIntervalMs;
      if (!isRetryableNetworkError(error) || !allowed) throw asRegistryError(error);
      resumes++;
      lastResumeAt = now;
      offsetAtLastResume = offset;
      // containers/image waits 1 s and a little jitter before reconnecting.
      const delayMs = Math.round(options.retry.baseDelayMs * (1 + Math.random() / 10));
      options.onRetry?.({ attempt: resumes, delayMs, reason: error, offset });
      await sleep(delayMs, options.signal);
    }
  }
}

/** How many leading bytes of `res` to drop so that it starts at `offset`; refuses a 206 that starts elsewhere. */
function rangeSkip(res: HttpResponse, offset: number, what: string): number {
  if (res.status === 200) return offset;
  const range = res.header("content-range");
  const match = range === undefined ? null : /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(range.trim());
  if (!match || Number(match[1]) !== offset) {
    res.body.destroy();
    throw new RegistryError(
      RegistryErrorCode.Protocol,
      `${what}: asked for bytes from ${offset}, the server sent ${range === undefined ? "no Content-Range" : `Content-Range ${JSON.stringify(range)}`}`,
      { details: { offset, contentRange: range } },
    );
  }
  return 0;
}
