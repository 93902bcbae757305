import { systemErrorCode } from "@store/errors";

/** ENOENT, or ENOTDIR (a path component is a file): either way, nothing is there. */
export function isMissing(error: unknown): boolean {
  const code = systemErrorCode(error);
  return code === "ENOENT" || code === "ENOTDIR";
}

/** Awaits `op`, turning "nothing there" into `fallback`. */
export async function orIfMissing<T, F>(op: Promise<T>, fallback: F): Promise<T | F> {
  try {
    return await op;
  } catch (e) {
    if (isMissing(e)) return fallback;
    throw e;
  }
}

/** EEXIST: the path is taken. */
export function isTaken(error: unknown): boolean {
  return systemErrorCode(error) === "EEXIST";
}

/** The filesystem offers no hard links (some FUSE and network mounts, vfat). */
export function isLinkUnsupported(error: unknown): boolean {
  const code = systemErrorCode(error);
  return code === "EPERM" || code === "ENOTSUP" || code === "EOPNOTSUPP" || code === "ENOSYS" || code === "EXDEV";
}
