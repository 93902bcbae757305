import { constants, readlinkSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";

// O_NONBLOCK: a FIFO (or device) planted where the tar-split says a file is would block open(2)
// and read(2) until a writer comes; with it open returns at once and fstat refuses it. It
// changes nothing for a regular file. O_NOFOLLOW: the last component is never a symlink.
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

/** Why a layer's file was refused: not there, not a regular file, or reached through a symlink. */
export class LayerFileRefused extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

let procFd: boolean | undefined;
/** Whether /proc/self/fd names what an fd was opened as (Linux with /proc mounted). */
function hasProcFd(): boolean {
  if (procFd === undefined) {
    try {
      readlinkSync("/proc/self/fd/0");
      procFd = true;
    } catch {
      procFd = false;
    }
  }
  return procFd;
}

/**
 * Opens one of a layer's files for reading as `path` names it and nothing else: the last
 * component is not followed (O_NOFOLLOW), a FIFO or device is refused without blocking (O_NONBLOCK,
 * then fstat), and the open file's own path (/proc/self/fd) must be `path` exactly, so a symlink
 * planted on the way (`a -> /etc` for `a/passwd`) is refused after the fact, with no race
 * between a check and the open. `path` must be canonical (built on a realpath'd directory).
 */
export async function openLayerFile(path: string): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(path, READ_FLAGS);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new LayerFileRefused(code === "ELOOP" ? "it is a symlink (ELOOP)" : (e as Error).message, code);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new LayerFileRefused(`it is not a regular file (mode ${(stats.mode & 0o170000).toString(8)})`);
    if (hasProcFd()) {
      const opened = readlinkSync(`/proc/self/fd/${handle.fd}`);
      if (opened !== path) throw new LayerFileRefused(`it resolves to ${JSON.stringify(opened)} through a symlink`);
    }
    return handle;
  } catch (e) {
    await handle.close().catch(() => undefined);
    throw e;
  }
}
