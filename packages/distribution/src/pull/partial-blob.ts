import { type FileHandle, mkdir, open, readdir, rm, stat } from "node:fs/promises";
import { createReadStream } from "node:fs";
import { join } from "node:path";
import type { Digest } from "@store/digest";

/** Partial downloads older than this are taken for abandoned and removed when a pull starts. */
export const PARTIAL_TTL_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * A blob being downloaded, kept on disk as it arrives (`<dir>/<algorithm>-<hex>`), so that a pull
 * killed part-way — even by SIGKILL — resumes where it stopped (moby#26146: docker throws the
 * bytes away). The file only ever holds a prefix of the blob; nothing trusts it: every byte read
 * back goes through the same digest check as the bytes from the network.
 */
export class PartialBlob {
  private constructor(
    readonly path: string,
    /** Bytes already on disk: where the download resumes. */
    readonly offset: number,
  ) {}

  /** The partial download of `digest` in `dir` (made if absent); a file longer than `size` starts over. */
  static async open(dir: string, digest: Digest, size: number | undefined): Promise<PartialBlob> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, `${digest.algorithm}-${digest.encoded}`);
    let offset = 0;
    try {
      const st = await stat(path);
      offset = st.isFile() && (size === undefined || st.size <= size) ? st.size : 0;
      if (offset === 0) await rm(path, { force: true, recursive: true });
    } catch {
      offset = 0;
    }
    return new PartialBlob(path, offset);
  }

  /**
   * The whole blob: the bytes on disk, then those of `remote(offset)`, each appended to the file
   * as it passes (the write overlaps the consumer's work on the chunk; the next chunk waits for it).
   */
  async *stream(remote: (offset: number) => AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    if (this.offset > 0) yield* createReadStream(this.path, { end: this.offset - 1, highWaterMark: 1024 * 1024 });
    const file = await open(this.path, "a", 0o600);
    try {
      let pending: Promise<unknown> | undefined;
      for await (const chunk of remote(this.offset)) {
        await pending;
        pending = appendAll(file, chunk);
        // Handled now as well as awaited later: a consumer that stops after this chunk (the
        // last, or its own failure) never comes back to await it, and a failed write (a full
        // disk) would then be an unhandled rejection that takes the process down.
        pending.catch(() => undefined);
        yield chunk;
      }
      await pending;
    } finally {
      await file.close().catch(() => undefined);
    }
  }

  async remove(): Promise<void> {
    await rm(this.path, { force: true });
  }
}

/** Writes all of `chunk` (a write may take fewer bytes than it is given). */
async function appendAll(file: FileHandle, chunk: Uint8Array): Promise<void> {
  for (let done = 0; done < chunk.byteLength; ) done += (await file.write(chunk, done, chunk.byteLength - done)).bytesWritten;
}

/** Removes partial downloads in `dir` untouched for longer than `ttlMs` (a pull given up on). */
export async function removeStalePartials(dir: string, ttlMs = PARTIAL_TTL_MS, now = Date.now()): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const path = join(dir, name);
    const st = await stat(path).catch(() => undefined);
    if (st && now - st.mtimeMs > ttlMs) await rm(path, { force: true, recursive: true }).catch(() => undefined);
  }
}
