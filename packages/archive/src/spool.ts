import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, open, rm, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { WRITE_BATCH as BATCH, writeBatched } from "./batched-write";

/**
 * Temp files for archive entries that cannot be used yet (a layer whose parent has not been seen,
 * a blob before the index that names it). Kept on the store's filesystem so the files never cross
 * a device, in a directory of their own that {@link Spool.remove} deletes whole.
 */
export class Spool {
  private dir: string | undefined;
  /** The first directory of `parent` this spool had to create, removed again with it when empty. */
  private created: string | undefined;

  constructor(private readonly parent: string) {}

  /** Writes `body` to a new temp file; returns its path and size. */
  async write(body: AsyncIterable<Uint8Array>): Promise<{ file: string; size: number }> {
    if (!this.dir) {
      this.created ??= await mkdir(this.parent, { recursive: true, mode: 0o700 });
      this.dir = await mkdtemp(join(this.parent, "archive-load-"));
    }
    const file = join(this.dir, randomBytes(8).toString("hex"));
    const fh = await open(file, "wx", 0o600);
    try {
      return { file, size: await writeBatched(fh, body) };
    } finally {
      await fh.close();
    }
  }

  /** The content of a spooled file, in large chunks. */
  read(file: string): AsyncIterable<Uint8Array> {
    return createReadStream(file, { highWaterMark: BATCH });
  }

  /** Deletes every spooled file. */
  async remove(): Promise<void> {
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
    this.dir = undefined;
    // A load leaves the root as it found it: a temp dir it made goes too, unless someone else
    // put something there meanwhile (rmdir refuses a non-empty directory).
    if (this.created) await rmdir(this.created).catch(() => undefined);
    this.created = undefined;
  }
}
