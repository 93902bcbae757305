import { randomBytes } from "node:crypto";
import type { FsApi, FsFileHandle } from "./fs-api";
import { isMissing } from "./fs-errors";

/** dockerd's modes for imagedb: directories 0700, files 0600. */
export const dirMode = 0o700;
export const fileMode = 0o600;

/**
 * A temp name beside `name`, as Go's `os.CreateTemp(dir, ".tmp-"+name)` makes in dockerd's
 * atomic writes: readers of the directory (walk, dockerd's own) skip it as not a digest.
 */
export function tempName(name: string): string {
  return `.tmp-${name}${randomBytes(6).toString("hex")}`;
}

/** Writes all of `data`: a single write may be short. */
export async function writeFully(handle: FsFileHandle, data: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < data.byteLength) {
    const { bytesWritten } = await handle.write(data, offset, data.byteLength - offset, null);
    offset += bytesWritten;
  }
}

/** Unlinks `path`; a missing file is not an error. */
export async function unlinkIfPresent(fs: FsApi, path: string): Promise<void> {
  try {
    await fs.unlink(path);
  } catch (e) {
    if (!isMissing(e)) throw e;
  }
}
