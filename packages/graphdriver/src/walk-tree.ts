import { lstatSync, readdirSync, type Stats } from "node:fs";
import { join } from "node:path";

/** One file met by {@link walkTree}. */
export interface WalkedFile {
  /** Path relative to the walked root, `/`-separated, no leading `./` (e.g. `etc/passwd`). */
  relativePath: string;
  path: string;
  stats: Stats;
}

/** Byte order of the names' UTF-8, which is how Go's filepath.Walk sorts (not UTF-16 order). */
function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * Walks `root` depth-first in Go's `filepath.Walk` order (lexical by bytes, a directory before
 * its contents), yielding everything below the root with its lstat. Symlinks are not followed.
 */
export async function* walkTree(root: string): AsyncGenerator<WalkedFile> {
  yield* walkDir(root, "");
}

// lstat and readdir are synchronous on purpose: microseconds each, where a thread-pool round trip
// costs tens, over thousands of files. The generator still yields between files.
async function* walkDir(dir: string, prefix: string): AsyncGenerator<WalkedFile> {
  const names = readdirSync(dir).sort(compareNames);
  for (const name of names) {
    const path = join(dir, name);
    const relativePath = prefix === "" ? name : `${prefix}/${name}`;
    const stats = lstatSync(path);
    yield { relativePath, path, stats };
    if (stats.isDirectory()) yield* walkDir(path, relativePath);
  }
}
