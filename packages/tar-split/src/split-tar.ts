import type { ByteSource } from "./byte-reader";
import { isUtf8 } from "node:buffer";
import { Crc64 } from "./crc64";
import { TarError, TarErrorCode } from "./errors";
import type { TarEntry } from "./tar-entry";
import { goCleanPath } from "./tar-format";
import { type ParsedEntry, TarReader, type TarReaderHooks, type TarReaderOptions } from "./tar-reader";
import type { TarSplitPacket } from "./tar-split-packet";
import { encodeTarSplit } from "./tar-split-io";

/** Go's disassembler reads what follows the archive in pieces of at most this much. */
const TRAILING_SEGMENT_SIZE = 1 << 20;

export interface SplitTarOptions extends TarReaderOptions {
  /** Each packet as soon as it is complete (e.g. to stream it into a gzip file). */
  onPacket?: (packet: TarSplitPacket) => void;
  /** Keep the packets for {@link TarSplitRecording.packets}; default true unless `onPacket` is given. */
  keepPackets?: boolean;
  /**
   * Accept an archive naming the same cleaned path twice. Go's tar-split packer refuses it
   * (ErrDuplicatePath), so dockerd refuses such layers; default false.
   */
  allowDuplicatePaths?: boolean;
  /**
   * Largest segment for the bytes after the end of the archive (default 1 MiB, as Go). Go cuts
   * them where its reads happened to end, so only their concatenation is canonical.
   */
  trailingSegmentSize?: number;
  /**
   * Most bytes accepted after the end of the archive (default: no limit, as Go). They are kept
   * in the tar-split, so in memory until it is written: a caller reading untrusted input (a few
   * KiB of zstd can expand to GiBs of zeros past the end blocks) sets a bound, beyond which the
   * tar is refused with `ERR_TAR_UNSUPPORTED`.
   */
  maxTrailingBytes?: number;
}

/** One pass over a tar: entries for the caller, tar-split packets recorded on the side. */
export interface TarSplitRecording {
  /** The archive's entries, as {@link parseTar} yields them. Iterate once, to the end. */
  readonly entries: AsyncIterable<TarEntry>;
  /** True once the entries were iterated to the end and the input drained. */
  readonly done: boolean;
  /** Bytes read from the input: the archive and everything after it. */
  readonly bytesRead: number;
  /** The recorded packets (after the entries are done). */
  packets(): TarSplitPacket[];
  /** The recorded packets as `tar-split.json.gz` bytes (after the entries are done). */
  tarSplit(): Promise<Uint8Array>;
}

/**
 * Parses a tar while recording its tar-split, as vbatts/tar-split's `asm.NewInputTarStream` does
 * inside dockerd: for each entry a segment with its raw header bytes (the previous padding
 * included) and a file record with its name, size and content CRC-64; at the end the padding and
 * end blocks, then every byte after the archive, then an empty segment. Once the entries are
 * iterated to the end, the input has been read to its end (so a hash of it covers every byte) and
 * {@link TarSplitRecording.packets} rebuilds it byte for byte with {@link assembleTar}.
 */
export function splitTar(source: ByteSource, options: SplitTarOptions = {}): TarSplitRecording {
  const keep = options.keepPackets ?? options.onPacket === undefined;
  const trailingSize = options.trailingSegmentSize ?? TRAILING_SEGMENT_SIZE;
  if (!Number.isSafeInteger(trailingSize) || trailingSize < 1) throw new RangeError("trailingSegmentSize must be a positive integer");
  const kept: TarSplitPacket[] = [];
  const seen = new Set<string>();
  let position = 0;
  let rawParts: Buffer[] = [];
  let rawLength = 0;
  let pending: { entry: ParsedEntry; crc: Crc64; size: number } | undefined;
  let done = false;
  let started = false;

  const emit = (packet: TarSplitPacket): void => {
    if (keep) kept.push(packet);
    options.onPacket?.(packet);
  };
  // Go adds a segment only when RawBytes is non-empty (before entries and at the end).
  const flushRaw = (): void => {
    if (rawLength === 0) return;
    const payload = Buffer.concat(rawParts, rawLength); // a copy: never pin the source's chunks
    rawParts = [];
    rawLength = 0;
    emit({ type: 2, payload, position: position++ });
  };

  const hooks: TarReaderHooks = {
    raw(bytes) {
      rawParts.push(bytes);
      rawLength += bytes.length;
    },
    entry(entry) {
      if (!entry.global && entry.header.size === 0 && entry.declaredSize > 0) {
        // Go records such a header-only entry with its size and would read the file back on
        // rebuild, producing a different archive; refuse rather than record that.
        throw new TarError(
          TarErrorCode.Unsupported,
          `tar entry ${JSON.stringify(entry.header.name)} at offset ${entry.offset}: ${entry.header.type} with a non-zero size (${entry.declaredSize}) cannot be rebuilt from a tar-split`,
          { details: { name: entry.header.name, offset: entry.offset } },
        );
      }
      flushRaw();
      if (!options.allowDuplicatePaths) {
        const key = goCleanPath(entry.nameBytes.toString("latin1"));
        if (seen.has(key)) {
          throw new TarError(
            TarErrorCode.DuplicatePath,
            `tar entry ${JSON.stringify(entry.header.name)} at offset ${entry.offset}: duplicates of file paths not supported`,
            { details: { name: entry.header.name, offset: entry.offset } },
          );
        }
        seen.add(key);
      }
      pending = { entry, crc: new Crc64(), size: entry.global ? 0 : entry.declaredSize };
    },
    content(bytes) {
      pending?.crc.update(bytes);
    },
    entryEnd() {
      if (!pending) return;
      const { entry, crc, size } = pending;
      pending = undefined;
      const packet: TarSplitPacket = { type: 1, name: "", size, payload: size > 0 ? crc.digest() : null, position: position++ };
      if (isUtf8(entry.nameBytes)) packet.name = entry.nameBytes.toString("utf8");
      else packet.nameRaw = Uint8Array.from(entry.nameBytes);
      emit(packet);
    },
    end() {
      flushRaw();
    },
  };

  const reader = new TarReader(source, hooks, options);

  async function* iterate(): AsyncGenerator<TarEntry> {
    if (started) throw new Error("splitTar: entries can be iterated only once");
    started = true;
    try {
      for (;;) {
        const entry = await reader.next();
        if (entry === null) break;
        yield { header: entry.header, body: reader.body(entry) };
      }
      // Everything after the end blocks, in pieces of at most trailingSize, then the empty
      // segment Go's last read (0 bytes, EOF) leaves.
      let tail: Buffer[] = [];
      let tailLength = 0;
      const flushTail = (all: boolean): void => {
        if (tailLength === 0) return;
        let joined = Buffer.concat(tail, tailLength);
        while (joined.length >= trailingSize || (all && joined.length > 0)) {
          const n = Math.min(trailingSize, joined.length);
          emit({ type: 2, payload: Buffer.from(joined.subarray(0, n)), position: position++ });
          joined = joined.subarray(n);
        }
        tail = joined.length > 0 ? [joined] : [];
        tailLength = joined.length;
      };
      const maxTrailing = options.maxTrailingBytes ?? Number.POSITIVE_INFINITY;
      let trailing = 0;
      await reader.drain((piece) => {
        trailing += piece.length;
        if (trailing > maxTrailing) {
          throw new TarError(
            TarErrorCode.Unsupported,
            `more than ${maxTrailing} bytes after the end of the archive (at offset ${reader.offset}): refused, they would all be kept in the tar-split`,
            { details: { offset: reader.offset, maxTrailingBytes: maxTrailing } },
          );
        }
        tail.push(piece);
        tailLength += piece.length;
        if (tailLength >= trailingSize) flushTail(false);
      });
      flushTail(true);
      emit({ type: 2, payload: new Uint8Array(0), position: position++ });
      done = true;
    } finally {
      await reader.close();
    }
  }

  const notDone = (): never => {
    throw new Error("splitTar: the entries must be iterated to the end before the tar-split is complete");
  };

  return {
    entries: { [Symbol.asyncIterator]: iterate },
    get done() {
      return done;
    },
    get bytesRead() {
      return reader.offset;
    },
    packets() {
      if (!done) notDone();
      if (!keep) throw new Error("splitTar: packets were not kept (keepPackets: false)");
      return kept;
    },
    async tarSplit() {
      if (!done) notDone();
      if (!keep) throw new Error("splitTar: packets were not kept (keepPackets: false)");
      return encodeTarSplit(kept);
    },
  };
}
