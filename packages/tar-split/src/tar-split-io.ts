import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { createGunzip, createGzip, gzip } from "node:zlib";
import { asBuffer } from "./byte-reader";
import { TarError, TarErrorCode } from "./errors";
import { decodeTarSplitPacket, encodeTarSplitPacket, type TarSplitPacket } from "./tar-split-packet";

const gzipAsync = promisify(gzip);

// zlib does one call per write: batch many small JSON lines into one write.
const BATCH = 256 * 1024;
/** How long encoding runs before it lets the event loop take a turn, and the text turned into bytes at once. */
const TURN_MS = 2;
/**
 * gzip level 1: about a third of level 6's CPU (a 13,000-file layer's tar-split is a few MB of
 * JSON, compressed during every pull and load) for files about a quarter larger, and they are
 * small either way. dockerd reads any level (Go's gzip reader).
 */
const GZIP_LEVEL = 1;
const PIECE = 64 * 1024;

async function* jsonLines(packets: Iterable<TarSplitPacket> | AsyncIterable<TarSplitPacket>): AsyncGenerator<string> {
  let batch = "";
  for await (const p of packets) {
    batch += encodeTarSplitPacket(p);
    if (batch.length >= BATCH) {
      yield batch;
      batch = "";
    }
  }
  if (batch.length > 0) yield batch;
}

/** Streams `packets` as `tar-split.json.gz` (gzip of newline-terminated JSON lines). */
async function* writeTarSplit(packets: Iterable<TarSplitPacket> | AsyncIterable<TarSplitPacket>, options: { level?: number } = {}): AsyncGenerator<Uint8Array> {
  const gzip = createGzip({ level: options.level ?? GZIP_LEVEL });
  const feeding = pipeline(Readable.from(jsonLines(packets)), gzip);
  // Surface a failure of the feeding side through the iteration below (pipeline destroys gzip).
  feeding.catch(() => {});
  for await (const chunk of gzip) yield chunk as Buffer;
  await feeding;
}

/** `packets` as `tar-split.json.gz` bytes. */
export async function encodeTarSplit(packets: Iterable<TarSplitPacket> | AsyncIterable<TarSplitPacket>): Promise<Uint8Array> {
  if (Array.isArray(packets)) {
    // A layer of 13,000 files is tens of milliseconds of encoding, and turning one string of
    // megabytes into bytes is another ten: encode in pieces, and let the event loop take a turn
    // every few milliseconds, so a daemon's timers and requests are not held up meanwhile.
    const parts: Buffer[] = [];
    let text = "";
    let since = performance.now();
    for (const p of packets as TarSplitPacket[]) {
      text += encodeTarSplitPacket(p);
      if (text.length >= PIECE) {
        parts.push(Buffer.from(text));
        text = "";
        if (performance.now() - since > TURN_MS) {
          await new Promise((resolve) => setImmediate(resolve));
          since = performance.now();
        }
      }
    }
    parts.push(Buffer.from(text));
    // In the thread pool: the caller's thread goes on (a layer store extracts the next layer).
    return gzipAsync(parts.length === 1 ? parts[0]! : Buffer.concat(parts), { level: GZIP_LEVEL });
  }
  const parts: Buffer[] = [];
  for await (const chunk of writeTarSplit(packets)) parts.push(asBuffer(chunk));
  return Buffer.concat(parts);
}

function toChunks(input: Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncIterable<Uint8Array> | Iterable<Uint8Array> {
  return input instanceof Uint8Array ? [input] : input;
}

/**
 * The longest line a tar-split holds: a segment carries at most a few headers and their
 * extended bodies (each at most MAX_SPECIAL_FILE_SIZE, 1 MiB) or 1 MiB of trailing bytes, base64
 * and JSON around them. A longer line is not a tar-split, and a gzip of one newline-free line
 * would otherwise grow in memory until the allocation fails.
 */
export const MAX_TAR_SPLIT_LINE = 16 << 20;

/** Splits a byte stream into lines (without the newline); a last line without newline counts too. */
async function* lines(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  let carry: Buffer[] = [];
  let carryLength = 0;
  let line = 0;
  for await (const c of chunks) {
    const chunk = asBuffer(c);
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl === -1) break;
      if (carryLength > 0) {
        carry.push(chunk.subarray(start, nl));
        yield Buffer.concat(carry).toString("utf8");
        carry = [];
        carryLength = 0;
      } else {
        yield chunk.toString("utf8", start, nl);
      }
      start = nl + 1;
      line++;
    }
    if (start < chunk.length) {
      carry.push(chunk.subarray(start));
      carryLength += chunk.length - start;
      if (carryLength > MAX_TAR_SPLIT_LINE) {
        throw new TarError(TarErrorCode.InvalidTarSplit, `tar-split line ${line}: longer than ${MAX_TAR_SPLIT_LINE} bytes`, { details: { line } });
      }
    }
  }
  if (carryLength > 0) yield Buffer.concat(carry).toString("utf8");
}

/**
 * Reads a `tar-split.json.gz` (as written by dockerd or {@link writeTarSplit}) packet by packet.
 * Blank lines are skipped; a malformed line is an `ERR_TAR_SPLIT_INVALID` naming it.
 */
export async function* readTarSplit(gzipped: Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<TarSplitPacket> {
  const gunzip = createGunzip();
  const feeding = pipeline(Readable.from(toChunks(gzipped)), gunzip);
  feeding.catch(() => {});
  let line = 0;
  try {
    for await (const text of lines(gunzip)) {
      const index = line++;
      if (text.trim() === "") continue;
      yield decodeTarSplitPacket(text, index);
    }
    await feeding;
  } catch (error) {
    if (error instanceof TarError) throw error;
    throw new TarError(TarErrorCode.InvalidTarSplit, `tar-split: not a readable gzip stream (${(error as Error).message})`, { cause: error });
  } finally {
    gunzip.destroy();
  }
}
