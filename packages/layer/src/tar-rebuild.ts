import { createHash } from "node:crypto";
import { closeSync, constants, createReadStream, openSync, readSync } from "node:fs";
import type { Digest } from "@store/digest";
import { verifyStream } from "@store/digest";
import { isStoreError } from "@store/errors";
import type { GraphDriver } from "@store/graphdriver";
import { type TarSplitPacket, assembleTar, readTarSplit } from "@store/tar-split";
import { openDiffFiles } from "./diff-files";
import { LayerError, LayerErrorCode } from "./errors";

/** What rebuilding one layer's tar needs to know of it. */
export interface LayerTarSource {
  chainId: Digest;
  diffId: Digest;
  cacheId: string;
}

// Files up to this size are read whole with one synchronous open/read/close, and small pieces
// are gathered into chunks of about this size before they are yielded.
const SMALL = 1 << 20;

/** The packets of a layer's tar-split record and the size of the tar they rebuild. */
export async function readLayerTarSplit(tarSplitGz: Uint8Array): Promise<{ packets: TarSplitPacket[]; size: number }> {
  const packets: TarSplitPacket[] = [];
  let size = 0;
  for await (const p of readTarSplit(tarSplitGz)) {
    packets.push(p);
    size += p.type === 2 ? p.payload.byteLength : p.size;
  }
  return { packets, size };
}

const verificationFailed = (layer: LayerTarSource, message: string, cause?: unknown) =>
  new LayerError(LayerErrorCode.VerificationFailed, `could not verify layer data for ${layer.chainId}: ${message}`, {
    cause,
    details: { chainId: layer.chainId.toString(), diffId: layer.diffId.toString() },
  });

/**
 * Rebuilds a layer's original tar from its tar-split packets and the driver's files, verified
 * against the diff ID as it streams (a mismatch is thrown after the last byte, so a consumer
 * that acts only on a clean end never acts on bad data).
 *
 * Small files are one synchronous open/read/close each (page-cache reads: microseconds; a read
 * stream per file costs four thread-pool round trips) and pieces are gathered into ~1 MiB chunks,
 * so a consumer's writes overlap the next reads. tar-split's per-file CRC-64 is not recomputed:
 * the diff ID covers every byte. Names that are not UTF-8 go through tar-split's assembler.
 */
export async function* layerTarStream(driver: GraphDriver, layer: LayerTarSource, packets: readonly TarSplitPacket[], total: number): AsyncGenerator<Uint8Array> {
  const files = await openDiffFiles(driver, layer.cacheId);
  try {
    if (packets.some((p) => p.type === 1 && p.nameRaw !== undefined && p.nameRaw.length > 0)) {
      try {
        yield* verifyStream(assembleTar(packets, (name) => files.open(name)), layer.diffId, { what: `layer ${layer.chainId}` });
      } catch (e) {
        if (isStoreError(e, "ERR_DIGEST_MISMATCH")) throw verificationFailed(layer, e.message, e);
        throw e;
      }
      return;
    }
    const hash = createHash("sha256");
    let batch: Uint8Array[] = [];
    let batched = 0;
    let written = 0;
    const take = (): Buffer => {
      const out = batch.length === 1 ? Buffer.from(batch[0]!.buffer, batch[0]!.byteOffset, batch[0]!.byteLength) : Buffer.concat(batch, batched);
      hash.update(out);
      written += out.byteLength;
      batch = [];
      batched = 0;
      return out;
    };
    for (const p of packets) {
      if (p.type === 2) {
        if (p.payload.byteLength > 0) {
          batch.push(p.payload);
          batched += p.payload.byteLength;
        }
      } else if (p.size > 0) {
        const path = files.path(p.name);
        if (p.size <= SMALL) {
          batch.push(readWhole(layer, path, p.name, p.size));
          batched += p.size;
        } else {
          if (batched > 0) yield take();
          let seen = 0;
          for await (const chunk of createReadStream(path, { highWaterMark: SMALL, fd: openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW) })) {
            const c = chunk as Buffer;
            seen += c.byteLength;
            if (seen > p.size) throw verificationFailed(layer, `file ${JSON.stringify(p.name)} is longer than the recorded ${p.size} bytes`);
            hash.update(c);
            written += c.byteLength;
            yield c;
          }
          if (seen !== p.size) throw verificationFailed(layer, `file ${JSON.stringify(p.name)} does not have the recorded ${p.size} bytes`);
        }
      }
      if (batched >= SMALL) yield take();
    }
    if (batched > 0) yield take();
    const actual = `sha256:${hash.digest("hex")}`;
    if (written !== total || actual !== layer.diffId.toString()) {
      throw verificationFailed(layer, `the rebuilt tar has digest ${actual}, expected ${layer.diffId}`);
    }
  } finally {
    await files.close();
  }
}

function readWhole(layer: LayerTarSource, path: string, name: string, size: number): Buffer {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const buf = Buffer.allocUnsafe(size);
    let at = 0;
    while (at < size) {
      const n = readSync(fd, buf, at, size - at, null);
      if (n === 0) break;
      at += n;
    }
    if (at !== size || readSync(fd, Buffer.allocUnsafe(1), 0, 1, null) !== 0) {
      throw verificationFailed(layer, `file ${JSON.stringify(name)} does not have the recorded ${size} bytes`);
    }
    return buf;
  } finally {
    closeSync(fd);
  }
}
