import type { FileHandle } from "node:fs/promises";

/** Writes go out in batches of about this many bytes: one writev per MiB, not one write per chunk. */
export const WRITE_BATCH = 1 << 20;

/** writev until every byte is out: a short write (a full disk, a signal) must not lose data silently. */
export async function writeAll(fh: FileHandle, chunks: Uint8Array[], total: number): Promise<void> {
  let { bytesWritten } = await fh.writev(chunks);
  while (bytesWritten < total) {
    const rest = Buffer.concat(chunks).subarray(bytesWritten);
    const r = await fh.write(rest, 0, rest.length);
    if (r.bytesWritten === 0) throw new Error("short write");
    bytesWritten += r.bytesWritten;
  }
}

/**
 * Writes a byte stream (an archive from `saveArchive`) to an open file in ~1 MiB `writev`
 * batches; returns the bytes written. An archive comes as many small pieces (a tar header, a
 * small file), and awaiting one write each doubled the time of a many-file save. The chunks
 * must stay valid once yielded (`saveArchive`'s do).
 */
export async function writeBatched(fh: FileHandle, source: AsyncIterable<Uint8Array>, onChunk?: (bytes: number) => void): Promise<number> {
  let batch: Uint8Array[] = [];
  let batched = 0;
  let total = 0;
  for await (const chunk of source) {
    onChunk?.(chunk.byteLength);
    batch.push(chunk);
    batched += chunk.byteLength;
    if (batched >= WRITE_BATCH) {
      await writeAll(fh, batch, batched);
      total += batched;
      batch = [];
      batched = 0;
    }
  }
  if (batched > 0) await writeAll(fh, batch, batched);
  return total + batched;
}
