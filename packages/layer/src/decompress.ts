import { createGunzip } from "node:zlib";
import { Readable } from "node:stream";
import type { ByteSource } from "@store/digest";
import { LayerError, LayerErrorCode } from "./errors";
import { peekHead } from "./peek-head";
import { zstdDecompress } from "./zstd-stream";

export type Compression = "none" | "gzip" | "zstd";

const gzipMagic = [0x1f, 0x8b, 0x08];
const zstdMagic = [0x28, 0xb5, 0x2f, 0xfd];

/** The compression of a stream, from its first bytes (moby pkg/archive DetectCompression). */
export function detectCompression(head: Uint8Array): Compression {
  const starts = (magic: number[]) => head.length >= magic.length && magic.every((b, i) => head[i] === b);
  if (starts(gzipMagic)) return "gzip";
  if (starts(zstdMagic)) return "zstd";
  return "none";
}

async function* chunksOf(source: ByteSource): AsyncGenerator<Uint8Array> {
  for await (const c of source) yield typeof c === "string" ? Buffer.from(c) : c;
}

/**
 * Decompresses `source` if it is gzip or zstd (detected from its first bytes), streaming: one
 * chunk in flight, no temp copy, output in chunks of at most 1 MiB whatever the input expands to.
 * Plain tar passes through untouched.
 */
export async function* decompress(source: ByteSource): AsyncGenerator<Uint8Array> {
  const { compression, stream } = await sniffCompression(source);
  yield* decompressAs(compression, stream);
}

/**
 * `source` as byte chunks from its first byte, and its compression, seen from the first bytes:
 * for a caller that must also look at the bytes as they were (a blob's digest) before
 * {@link decompressAs} undoes the compression.
 */
export async function sniffCompression(source: ByteSource): Promise<{ compression: Compression; stream: AsyncIterable<Uint8Array> }> {
  // Enough bytes to see a magic number, even from tiny chunks.
  const { head, stream } = await peekHead(chunksOf(source), 4);
  return { compression: detectCompression(head), stream };
}

/** Decompresses a stream whose compression is known (see {@link sniffCompression}). */
export async function* decompressAs(kind: Compression, stream: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  if (kind === "none") {
    yield* stream;
  } else if (kind === "gzip") {
    const input = Readable.from(stream);
    // Each output chunk is a trip through the thread pool and a hop through every stage after
    // it (hashes, tar parser, writes): 1 MiB rather than 256 KiB is a quarter of them.
    const gunzip = createGunzip({ chunkSize: 1024 * 1024 });
    // pipe() does not forward a source's error; a failing input must fail the output.
    input.on("error", (e) => gunzip.destroy(e));
    input.pipe(gunzip);
    try {
      yield* gunzip;
    } catch (e) {
      // zlib's own refusal (Z_DATA_ERROR, Z_BUF_ERROR…) is bad data, said as the zstd decoder says
      // it; the input's own errors (a network's, an abort) pass through as they are.
      const code = (e as { code?: unknown })?.code;
      if (typeof code === "string" && code.startsWith("Z_")) throw new LayerError(LayerErrorCode.InvalidData, (e as Error).message, { cause: e });
      throw e;
    } finally {
      input.destroy();
    }
  } else {
    yield* zstdDecompress(stream);
  }
}
