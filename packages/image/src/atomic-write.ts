import { randomBytes } from "node:crypto";
import { chmod, open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * moby's ioutils.AtomicWriteFile: write a temp file `.tmp-<name><random>` beside the target,
 * fsync it, set its mode, rename it over the target. Readers see the old file or the new one,
 * never a part. dockerd does not fsync the directory; we do, so a crash after the rename cannot
 * lose the entry.
 */
export async function atomicWriteFile(path: string, data: Uint8Array | string, mode: number): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.tmp-${basename(path)}${randomBytes(6).readUIntBE(0, 6)}`);
  const fh = await open(tmp, "wx", mode);
  try {
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await chmod(tmp, mode); // the umask may have narrowed (or the caller widened) the mode
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await syncDir(dir);
}

/** fsyncs a directory so a rename or create in it survives a crash. */
export async function syncDir(dir: string): Promise<void> {
  const dh = await open(dir, "r");
  try {
    await dh.sync();
  } catch {
    // some filesystems refuse fsync on directories; the data itself is synced already
  } finally {
    await dh.close();
  }
}
