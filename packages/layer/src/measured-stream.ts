import { type Algorithm, type Digest, type Hasher, createHasher } from "@store/digest";

export interface MeasureOptions {
  /** Hashes the bytes with this algorithm; without it they are only counted. */
  algorithm?: Algorithm;
  /** More bytes than this fail the stream at once, with `tooLong(size)`, instead of at its end. */
  limit?: { size: number; tooLong(size: number): Error };
  /** Checked before each chunk: an aborted signal fails the stream with its reason. */
  signal?: AbortSignal;
}

export interface MeasuredStream {
  stream: AsyncGenerator<Uint8Array>;
  /** Whether the source was read to its end. */
  readonly ended: boolean;
  /** Bytes passed so far (all of them once {@link ended}). */
  readonly size: number;
  /** The digest, once {@link ended} (undefined when no algorithm was asked for). */
  digest(): Digest | undefined;
}

/**
 * Passes `source` through unchanged while counting, hashing (when asked), bounding its length and
 * watching a signal, all in one generator: extraction taps its stream at two points (the bytes
 * as received, the tar after decompression), and a hop per check would be a hop per chunk.
 */
export function measuredStream(source: AsyncIterable<Uint8Array>, options: MeasureOptions = {}): MeasuredStream {
  const { limit, signal } = options;
  const hasher: Hasher | undefined = options.algorithm ? createHasher(options.algorithm) : undefined;
  let size = 0;
  let ended = false;
  let digest: Digest | undefined;
  async function* pass(): AsyncGenerator<Uint8Array> {
    for await (const chunk of source) {
      signal?.throwIfAborted();
      size += chunk.byteLength;
      if (limit && size > limit.size) throw limit.tooLong(size);
      hasher?.update(chunk);
      yield chunk;
    }
    signal?.throwIfAborted();
    digest = hasher?.digest();
    ended = true;
  }
  return {
    stream: pass(),
    get ended() {
      return ended;
    },
    get size() {
      return size;
    },
    digest: () => digest,
  };
}
