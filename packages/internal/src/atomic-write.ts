import { randomBytes } from "node:crypto";
import { open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * The part of `node:fs/promises` that `syncDirectory` needs, so a caller that runs over another
 * file system (the fs backend over memfs) syncs through its own.
 */
export interface SyncFs {
  open(path: string, flags: string): Promise<{ sync(): Promise<void>; close(): Promise<void> }>;
}

const nodeFs: SyncFs = { open: (path, flags) => open(path, flags) };

/**
 * fsyncs a directory so that a rename or a new entry in it survives a crash. dockerd does not do
 * this after its atomic writes; we do, or a crash right after a rename could lose an entry the
 * caller was already told is stored. Errors are thrown, never swallowed: a store that cannot
 * make its writes durable must say so rather than report success.
 */
export async function syncDirectory(dir: string, fs: SyncFs = nodeFs): Promise<void> {
  const handle = await fs.open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes `data` to `path` with exactly `mode` (set explicitly: the umask must not narrow what
 * dockerd expects) and fsyncs it before returning. `flags` is `"w"` (replace) or `"wx"` (the
 * file must not exist yet).
 */
export async function writeFileSynced(path: string, data: Uint8Array | string, mode: number, flags: "w" | "wx" = "w"): Promise<void> {
  const handle = await open(path, flags, mode);
  try {
    await handle.writeFile(data);
    await handle.chmod(mode);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * moby's ioutils.AtomicWriteFile: write a temp file `.tmp-<name><random>` beside the target,
 * fsync it, set its mode, rename it over the target, then fsync the directory. Readers see the
 * old file or the new one, never a part; the temp file is removed when any step fails.
 */
export async function atomicWriteFile(path: string, data: Uint8Array | string, mode: number): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.tmp-${basename(path)}${randomBytes(6).readUIntBE(0, 6)}`);
  try {
    await writeFileSynced(tmp, data, mode, "wx");
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await syncDirectory(dir);
}
