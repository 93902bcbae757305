import { lstatSync, readdirSync, type Stats } from "node:fs";
import { join } from "node:path";
import { eventLoopTurns } from "./event-loop-turn";

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
  yield* walkDir(root, "", eventLoopTurns());
}

// lstat and readdir are synchronous on purpose: microseconds each, where a thread-pool round trip
// costs tens, over thousands of files. A consumer that does not wait on I/O resumes the
// generator as a microtask, so it also lets the event loop take a turn every few milliseconds.
async function* walkDir(dir: string, prefix: string, turn: () => Promise<void>): AsyncGenerator<WalkedFile> {
  const names = readdirSync(dir).sort(compareNames);
  for (const name of names) {
    const path = join(dir, name);
    const relativePath = prefix === "" ? name : `${prefix}/${name}`;
    const stats = lstatSync(path);
    yield { relativePath, path, stats };
    await turn();
    if (stats.isDirectory()) yield* walkDir(path, relativePath, turn);
  }
}
