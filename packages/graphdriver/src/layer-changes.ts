import { stat } from "node:fs/promises";
import type { Stats } from "node:fs";
import { join } from "node:path";
import { systemErrorCode } from "@store/errors";
import type { Change } from "./graph-driver";
import { walkTree } from "./walk-tree";

/**
 * Decides whether a file of the upper layer stands for a deletion (a whiteout); returns the path
 * deleted (absolute-style, e.g. `/a/b`) or undefined. moby's `deleteChange`.
 */
export type DeletionDetector = (upper: string, path: string, stats: Stats, lowers: readonly string[]) => string | undefined | Promise<string | undefined>;

async function statOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (error) {
    const code = systemErrorCode(error);
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw error;
  }
}

/** Go's `sameFsTime`: equal, or equal seconds where one side lacks sub-second precision. */
function sameFsTime(a: Stats, b: Stats): boolean {
  if (a.mtimeMs === b.mtimeMs) return true;
  const as = Math.floor(a.mtimeMs / 1000);
  const bs = Math.floor(b.mtimeMs / 1000);
  return as === bs && (a.mtimeMs % 1000 === 0 || b.mtimeMs % 1000 === 0);
}

/**
 * The changes an upper layer directory makes over its lower layers, as moby's `archive.changes`
 * computes them for overlay: walking `upper` in order, a whiteout is a delete; a path present in
 * any lower layer is a modify (directories equal in size, mode and mtime are skipped), otherwise
 * an add; the parent of an add or delete is reported modified once.
 *
 * @param lowers the lower layers' directories, top first
 */
export async function layerChanges(upper: string, lowers: readonly string[], isDeletion: DeletionDetector): Promise<Change[]> {
  const changes: Change[] = [];
  const changedDirs = new Set<string>();
  for await (const { relativePath, stats } of walkTree(upper)) {
    const path = `/${relativePath}`;
    const deleted = await isDeletion(upper, path, stats, lowers);
    let change: Change;
    if (deleted !== undefined) {
      change = { path: deleted, kind: "delete" };
    } else {
      change = { path, kind: "add" };
      let skip = false;
      for (const lower of lowers) {
        const below = await statOrUndefined(join(lower, relativePath));
        if (below === undefined) continue;
        // A directory listed only because something inside it changed is not itself a change.
        if (below.isDirectory() && stats.isDirectory() && below.size === stats.size && below.mode === stats.mode && sameFsTime(stats, below)) {
          skip = true;
        }
        change = { path, kind: "modify" };
        break;
      }
      if (skip) continue;
    }
    if (stats.isDirectory()) changedDirs.add(path);
    if (change.kind === "add" || change.kind === "delete") {
      const slash = path.lastIndexOf("/");
      const parent = slash === 0 ? "/" : path.slice(0, slash);
      if (parent !== "/" && !changedDirs.has(parent)) {
        changes.push({ path: parent, kind: "modify" });
        changedDirs.add(parent);
      }
    }
    changes.push(change);
  }
  return changes;
}
