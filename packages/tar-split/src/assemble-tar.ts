import { Crc64 } from "./crc64";
import { TarError, TarErrorCode } from "./errors";
import type { TarSplitFile, TarSplitPacket } from "./tar-split-packet";

/** Opens the content of a file named in a tar-split (relative to the layer's root, as in the tar). */
export type OpenFile = (name: string, nameRaw?: Uint8Array) => Promise<AsyncIterable<Uint8Array>> | AsyncIterable<Uint8Array>;

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hex(b: Uint8Array | null): string {
  return b === null ? "null" : Buffer.from(b).toString("hex");
}

function label(p: TarSplitFile): string {
  return p.nameRaw && p.nameRaw.length > 0 ? Buffer.from(p.nameRaw).toString("utf8") : p.name;
}

/**
 * Rebuilds the original tar from its tar-split and the files' contents, as tar-split's
 * `asm.WriteOutputTarStream` does: segments verbatim, then for each file record with a size the
 * file's content, checked against the recorded size and CRC-64 as it streams. A mismatch fails with
 * `ERR_TAR_SPLIT_SIZE_MISMATCH` or `ERR_TAR_SPLIT_CRC_MISMATCH` naming the file; content bytes seen
 * before the mismatch may already have been yielded, so verify the whole stream (the diffID) too.
 */
export async function* assembleTar(packets: AsyncIterable<TarSplitPacket> | Iterable<TarSplitPacket>, open: OpenFile): AsyncGenerator<Uint8Array> {
  for await (const p of packets) {
    if (p.type === 2) {
      if (p.payload.length > 0) yield p.payload;
      continue;
    }
    if (p.size === 0) continue;
    const name = label(p);
    const details = { name, size: p.size, position: p.position };
    const source = await open(p.name, p.nameRaw);
    const crc = new Crc64();
    let seen = 0;
    for await (const chunk of source) {
      if (seen + chunk.length > p.size) {
        throw new TarError(TarErrorCode.SizeMismatch, `tar-split file ${JSON.stringify(name)}: content is longer than the recorded ${p.size} bytes`, {
          details,
        });
      }
      seen += chunk.length;
      crc.update(chunk);
      if (chunk.length > 0) yield chunk;
    }
    if (seen !== p.size) {
      throw new TarError(TarErrorCode.SizeMismatch, `tar-split file ${JSON.stringify(name)}: content has ${seen} bytes, recorded ${p.size}`, { details });
    }
    const actual = crc.digest();
    if (p.payload === null || !sameBytes(actual, p.payload)) {
      throw new TarError(
        TarErrorCode.CrcMismatch,
        `tar-split file ${JSON.stringify(name)}: content CRC-64 ${hex(actual)} differs from the recorded ${hex(p.payload)}`,
        { details: { ...details, expected: hex(p.payload), actual: hex(actual) } },
      );
    }
  }
}
