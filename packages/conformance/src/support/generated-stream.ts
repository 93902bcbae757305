import { type Digest, createHasher } from "@store/digest";

export interface GeneratedStreamOptions {
  /** Total bytes. */
  size: number;
  /** Bytes per chunk (1 MiB by default). */
  chunkSize?: number;
  /** Different seeds, different bytes. */
  seed?: number;
  /** Called (and awaited) after each chunk was taken, with the bytes produced so far (memory probes hook here). */
  onChunk?: (produced: number) => void | Promise<void>;
  /** Yield to the event loop between chunks, so racing operations interleave with this one. */
  yieldEvery?: boolean;
}

/**
 * Pseudo-random content produced chunk by chunk, each chunk a fresh array, so that streaming it
 * holds one chunk at a time: content larger than the test should ever hold in memory.
 */
export async function* generatedStream(options: GeneratedStreamOptions): AsyncGenerator<Uint8Array> {
  const { size, chunkSize = 1 << 20, seed = 1 } = options;
  // xorshift32: fast, deterministic, and not compressible or repetitive across chunks.
  let state = (seed * 2654435761) >>> 0 || 1;
  let produced = 0;
  while (produced < size) {
    const length = Math.min(chunkSize, size - produced);
    const words = new Uint32Array(Math.ceil(length / 4));
    for (let i = 0; i < words.length; i++) {
      state ^= state << 13;
      state >>>= 0;
      state ^= state >>> 17;
      state ^= state << 5;
      state >>>= 0;
      words[i] = state;
    }
    produced += length;
    yield new Uint8Array(words.buffer, 0, length);
    await options.onChunk?.(produced);
    if (options.yieldEvery) await new Promise((resolve) => setImmediate(resolve));
  }
}

/** The digest of what {@link generatedStream} produces for the same size, chunk size and seed. */
export async function generatedDigest(options: Omit<GeneratedStreamOptions, "onChunk" | "yieldEvery">): Promise<Digest> {
  const hasher = createHasher("sha256");
  for await (const chunk of generatedStream(options)) hasher.update(chunk);
  return hasher.digest();
}

/** A stream that yields `before` bytes of generated content, then throws `error`. */
export async function* failingStream(before: number, error: Error): AsyncGenerator<Uint8Array> {
  yield* generatedStream({ size: before, chunkSize: 64 * 1024, seed: 99 });
  throw error;
}
