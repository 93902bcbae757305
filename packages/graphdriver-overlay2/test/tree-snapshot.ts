import { readFile, readlink } from "node:fs/promises";
import { createHash } from "node:crypto";
import { walkTree } from "@store/graphdriver";
import { linuxSyscalls } from "../src/index";

/** Everything about a tree two equal layers must agree on, by relative path. */
export async function snapshotTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const { relativePath, path, stats } of walkTree(dir)) {
    const parts = [`mode=${stats.mode.toString(8)}`, `owner=${stats.uid}:${stats.gid}`, `nlink=${stats.isDirectory() ? "-" : stats.nlink}`];
    // dockerd sets no time on the whiteout devices it makes, so theirs is the time of applying.
    const whiteout = stats.isCharacterDevice() && stats.rdev === 0;
    if (!whiteout) {
      parts.push(`mtime=${stats.isDirectory() || stats.isSymbolicLink() ? Math.floor(stats.mtimeMs / 1000) : stats.mtimeMs}`);
    }
    if (stats.isFile())
      parts.push(
        `sha=${createHash("sha256")
          .update(await readFile(path))
          .digest("hex")
          .slice(0, 16)}`,
      );
    if (stats.isSymbolicLink()) parts.push(`link=${await readlink(path)}`);
    if (stats.isCharacterDevice() || stats.isBlockDevice()) parts.push(`rdev=${stats.rdev}`);
    const opaque = stats.isDirectory() ? linuxSyscalls.lgetxattr(path, "trusted.overlay.opaque") : undefined;
    if (opaque !== undefined) parts.push(`opaque=${Buffer.from(opaque).toString()}`);
    out[relativePath] = parts.join(" ");
  }
  return out;
}
