import { type Algorithm, Canonical } from "./algorithm";
import type { Digest } from "./digest";
import { DigestError, DigestErrorCode } from "./errors";
import { type HashOptions, createHasher } from "./hasher";

/** Anything that yields byte chunks: Node Readables, web ReadableStreams, async generators. */
export type ByteSource = AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;

/** The digest of `data` (bytes, or a string as UTF-8). */
export function digestFromBytes(data: Uint8Array | string, algorithm: Algorithm = Canonical, options?: HashOptions): Digest {
  return createHasher(algorithm, options).update(data).digest();
}

/** The digest of a string's UTF-8 bytes. */
export function digestFromString(text: string, algorithm: Algorithm = Canonical, options?: HashOptions): Digest {
  return digestFromBytes(text, algorithm, options);
}

/** Hashes a stream to its end, holding one chunk at a time. */
export async function digestStream(source: ByteSource, algorithm: Algorithm = Canonical, options?: HashOptions): Promise<Digest> {
  const hasher = createHasher(algorithm, options);
  for await (const chunk of source) hasher.update(chunk);
  return hasher.digest();
}

/** Throws ERR_DIGEST_MISMATCH when `actual` is not `expected`. */
function assertDigest(actual: Digest, expected: Digest, what = "content"): void {
  if (!actual.equals(expected)) {
    throw new DigestError(DigestErrorCode.Mismatch, `${what} failed to verify: expected ${expected}, got ${actual}`, {
      details: { expected: expected.toString(), actual: actual.toString() },
    });
  }
}

export interface VerifyOptions extends HashOptions {
  /** The expected length in bytes, when known: a longer or shorter stream fails. */
  size?: number;
  /** Names the content in error messages (e.g. "layer sha256:…"). */
  what?: string;
}

/**
 * Passes `source` through unchanged while hashing it. After the last chunk it checks the digest
 * (and size) against `expected` and throws ERR_DIGEST_MISMATCH instead of finishing, so a consumer
 * that commits only on a clean end never commits bad content.
 */
export async function* verifyStream(source: ByteSource, expected: Digest, options: VerifyOptions = {}): AsyncGenerator<Uint8Array> {
  const hasher = createHasher(expected.algorithm, options);
  const what = options.what ?? `content ${expected}`;
  let size = 0;
  for await (const raw of source) {
    const chunk = typeof raw === "string" ? Buffer.from(raw) : raw;
    size += chunk.byteLength;
    if (options.size !== undefined && size > options.size) {
      throw new DigestError(DigestErrorCode.Mismatch, `${what} failed to verify: longer than the expected ${options.size} bytes`, {
        details: { expected: expected.toString(), size: options.size },
      });
    }
    hasher.update(chunk);
    yield chunk;
  }
  if (options.size !== undefined && size !== options.size) {
    throw new DigestError(DigestErrorCode.Mismatch, `${what} failed to verify: ${size} bytes, expected ${options.size}`, {
      details: { expected: expected.toString(), size: options.size, actualSize: size },
    });
  }
  assertDigest(hasher.digest(), expected, what);
}

/**
 * Passes `source` through while hashing it; `result()` gives the digest and size once the
 * stream has been read to its end. For writers that learn a content's name only at the end.
 */
export function hashingStream(
  source: ByteSource,
  algorithm: Algorithm = Canonical,
  options?: HashOptions,
): {
  stream: AsyncGenerator<Uint8Array>;
  result(): { digest: Digest; size: number };
} {
  const hasher = createHasher(algorithm, options);
  let size = 0;
  let done: Digest | undefined;
  async function* pass(): AsyncGenerator<Uint8Array> {
    for await (const raw of source) {
      const chunk = typeof raw === "string" ? Buffer.from(raw) : raw;
      size += chunk.byteLength;
      hasher.update(chunk);
      yield chunk;
    }
    done = hasher.digest();
  }
  return {
    stream: pass(),
    result() {
      if (!done) throw new Error("hashingStream: result() before the stream was read to its end");
      return { digest: done, size };
    },
  };
}
