import { createReadStream } from "node:fs";
import { DigestErrorCode, createHasher, verifyStream, type Digest } from "@store/digest";
import { isStoreError } from "@store/errors";
import { type ChunkPart, type GraphDriver, eventLoopTurns, readChunk } from "@store/graphdriver";
import { type TarSplitPacket, assembleTar, readTarSplit } from "@store/tar-split";
import { openDiffFiles } from "./diff-files";
import { LayerError, LayerErrorCode } from "./errors";
import { openLayerFile } from "./layer-file-open";

/** What rebuilding one layer's tar needs to know of it. */
export interface LayerTarSource {
  chainId: Digest;
  diffId: Digest;
  cacheId: string;
}

// Files up to this size are read whole (on the chunk reader's thread), and small pieces are
// gathered into chunks of about this size before they are yielded.
const SMALL = 1 << 20;
/** Chunks being read ahead of the one yielded: the reader thread works while the consumer writes. */
const READ_AHEAD = 3;

/** The packets of a layer's tar-split record and the size of the tar they rebuild. */
export async function readLayerTarSplit(tarSplitGz: Uint8Array): Promise<{ packets: TarSplitPacket[]; size: number }> {
  const packets: TarSplitPacket[] = [];
  let size = 0;
  const turn = eventLoopTurns();
  for await (const p of readTarSplit(tarSplitGz)) {
    packets.push(p);
    size += p.type === 2 ? p.payload.byteLength : p.size;
    await turn();
  }
  return { packets, size };
}

const verificationFailed = (layer: LayerTarSource, message: string, cause?: unknown) =>
  new LayerError(LayerErrorCode.VerificationFailed, `could not verify layer data for ${layer.chainId}: ${message}`, {
    cause,
    details: { chainId: layer.chainId.toString(), diffId: layer.diffId.toString() },
  });

/** A stretch of the tar: ~1 MiB of headers and small files, or one large file streamed. */
type Segment = { parts: ChunkPart[]; names: string[] } | { path: string; name: string; size: number };

/**
 * Rebuilds a layer's original tar from its tar-split packets and the driver's files, verified
 * against the diff ID (whatever its algorithm) as it streams: a mismatch is thrown after the
 * last byte, so a consumer that acts only on a clean end never acts on bad data.
 *
 * Nothing here blocks the event loop: headers and small files are gathered into ~1 MiB chunks
 * that the chunk reader's thread fills (a few read ahead, so the disk works while the consumer
 * writes), large files stream through the thread pool, and this thread only hashes. tar-split's
 * per-file CRC-64 is not recomputed: the diff ID covers every byte. Names that are not UTF-8
 * go through tar-split's assembler.
 */
export async function* layerTarStream(
  driver: GraphDriver,
  layer: LayerTarSource,
  packets: readonly TarSplitPacket[],
  total: number,
): AsyncGenerator<Uint8Array> {
  const files = await openDiffFiles(driver, layer.cacheId);
  try {
    if (packets.some((p) => p.type === 1 && p.nameRaw !== undefined && p.nameRaw.length > 0)) {
      try {
        yield* verifyStream(
          assembleTar(packets, (name) => files.open(name)),
          layer.diffId,
          { what: `layer ${layer.chainId}` },
        );
      } catch (e) {
        if (isStoreError(e, DigestErrorCode.Mismatch)) throw verificationFailed(layer, e.message, e);
        throw e;
      }
      return;
    }
    const hash = createHasher(layer.diffId.algorithm);
    let written = 0;
    const segments = segmentsOf(packets, files.path);
    // Chunks are read in order, a few ahead of the one being yielded.
    const ahead: Array<{ segment: Segment; read?: Promise<Uint8Array> }> = [];
    const fill = () => {
      while (ahead.length < READ_AHEAD) {
        const next = segments.next();
        if (next.done) return;
        const segment = next.value;
        const read = "parts" in segment ? readSegment(layer, segment) : undefined;
        // A failure is thrown when its turn comes, not as an unhandled rejection meanwhile.
        read?.catch(() => undefined);
        ahead.push({ segment, read });
      }
    };
    fill();
    while (ahead.length > 0) {
      const { segment, read } = ahead.shift()!;
      if (read !== undefined) {
        const chunk = await read;
        fill();
        hash.update(chunk);
        written += chunk.byteLength;
        yield chunk;
        continue;
      }
      const large = segment as { path: string; name: string; size: number };
      let seen = 0;
      // Refused as a small file is (ENOENT, a symlink, a FIFO): the layer's data is not what was recorded.
      const cannotRead = (e: unknown) => verificationFailed(layer, `file ${JSON.stringify(large.name)} cannot be read: ${(e as Error)?.message ?? e}`, e);
      const handle = await openLayerFile(large.path).catch((e: unknown) => {
        throw cannotRead(e);
      });
      for await (const chunk of createReadStream(large.path, { highWaterMark: SMALL, fd: handle })) {
        const c = chunk as Buffer;
        seen += c.byteLength;
        if (seen > large.size) throw verificationFailed(layer, `file ${JSON.stringify(large.name)} is longer than the recorded ${large.size} bytes`);
        hash.update(c);
        written += c.byteLength;
        yield c;
      }
      if (seen !== large.size) throw verificationFailed(layer, `file ${JSON.stringify(large.name)} does not have the recorded ${large.size} bytes`);
      fill();
    }
    const actual = hash.digest();
    if (written !== total || !actual.equals(layer.diffId)) {
      throw verificationFailed(layer, `the rebuilt tar has digest ${actual}, expected ${layer.diffId}`);
    }
  } finally {
    await files.close();
  }
}

/** The tar in segments, in order: runs of headers and small files up to ~1 MiB, large files alone. */
function* segmentsOf(packets: readonly TarSplitPacket[], pathOf: (name: string) => string): Generator<Segment> {
  let parts: ChunkPart[] = [];
  let names: string[] = [];
  let gathered = 0;
  for (const p of packets) {
    if (p.type === 2) {
      if (p.payload.byteLength > 0) {
        parts.push(p.payload);
        names.push("");
        gathered += p.payload.byteLength;
      }
    } else if (p.size > 0) {
      const path = pathOf(p.name);
      if (p.size <= SMALL) {
        parts.push({ path, size: p.size });
        names.push(p.name);
        gathered += p.size;
      } else {
        if (parts.length > 0) yield { parts, names };
        parts = [];
        names = [];
        gathered = 0;
        yield { path, name: p.name, size: p.size };
      }
    }
    if (gathered >= SMALL) {
      yield { parts, names };
      parts = [];
      names = [];
      gathered = 0;
    }
  }
  if (parts.length > 0) yield { parts, names };
}

/** One chunk of headers and small files: on the reader thread when it holds a file, else here. */
async function readSegment(layer: LayerTarSource, segment: { parts: ChunkPart[]; names: string[] }): Promise<Uint8Array> {
  if (segment.parts.every((part) => part instanceof Uint8Array)) {
    const parts = segment.parts as Uint8Array[];
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }
  const result = await readChunk(segment.parts);
  if (result.ok) return Buffer.from(result.data.buffer, result.data.byteOffset, result.data.byteLength);
  const name = JSON.stringify(segment.names[result.index]);
  // The reader thread itself failed (it died): no one file is to blame.
  if (!segment.names[result.index]) throw verificationFailed(layer, `reading its files failed: ${result.error.message}`, result.error);
  if (result.reason === "size")
    throw verificationFailed(layer, `file ${name} does not have the recorded ${(segment.parts[result.index] as { size: number }).size} bytes`);
  throw verificationFailed(layer, `file ${name} cannot be read: ${result.error.message}`, result.error);
}
