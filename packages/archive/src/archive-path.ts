import { posix } from "node:path";
import { ArchiveError, ArchiveErrorCode } from "./errors";

/**
 * A name inside an archive, cleaned as Go's path.Clean does and taken relative to the archive's
 * root: `./a//b/` → `a/b`, `/manifest.json` → `manifest.json`. A name that climbs out of the
 * archive (`../x`, `a/../../x`) is refused: dockerd's untar refuses such entries as a breakout,
 * and a manifest naming one would otherwise read a file outside the archive.
 */
export function archivePath(name: string, what: string): string {
  if (typeof name !== "string" || name === "" || name.includes("\0")) {
    throw new ArchiveError(ArchiveErrorCode.Invalid, `${what}: invalid path ${JSON.stringify(name)}`, { details: { path: name } });
  }
  const cleaned = posix.normalize(`/${name}`).replace(/\/+$/, "");
  const relative = cleaned.replace(/^\/+/, "");
  // normalize("/" + x) can never climb above "/", so test the unanchored form for escapes.
  const unanchored = posix.normalize(name.replace(/^\/+/, ""));
  if (unanchored === ".." || unanchored.startsWith("../")) {
    throw new ArchiveError(ArchiveErrorCode.Invalid, `${what}: path ${JSON.stringify(name)} escapes the archive`, { details: { path: name } });
  }
  return relative === "" ? "." : relative;
}

/** Where a symlink at `linkPath` with target `target` points, inside the archive (null if it escapes). */
export function linkTarget(linkPath: string, target: string): string | null {
  const base = target.startsWith("/") ? target : posix.join(posix.dirname(linkPath), target);
  const unanchored = posix.normalize(base.replace(/^\/+/, ""));
  if (unanchored === ".." || unanchored.startsWith("../")) return null;
  return unanchored.replace(/\/+$/, "");
}
