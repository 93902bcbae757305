// Go's path.Clean, written once in @store/tar-split: moby cleans every tar entry name with it
// before deciding where the entry goes, so we must clean the same way to accept and refuse the
// same names.
import { cleanPath } from "@store/tar-split";

export { cleanPath };

/**
 * Where a tar entry name lands inside the extraction root, as moby's `filepath.Join(dest,
 * filepath.Clean(name))` decides it: absolute names are taken relative to the root (`/etc/x` →
 * `etc/x`), `.` is the root itself. Returns `undefined` when the name climbs out of the root
 * (`../x`, `a/../../x`): moby's breakout error.
 */
export function entryRelativePath(name: string): string | undefined {
  const cleaned = cleanPath(name);
  if (cleaned === ".." || cleaned.startsWith("../")) return undefined;
  if (cleaned === "/") return ".";
  return cleaned.startsWith("/") ? cleaned.slice(1) : cleaned;
}

/** The parent of a root-relative path (`a/b` → `a`, `a` → `.`). */
export function parentOf(rel: string): string {
  const i = rel.lastIndexOf("/");
  return i < 0 ? "." : rel.slice(0, i);
}
