import { walkTree } from "./walk-tree";

/**
 * The size dockerd records for a layer (moby's `directory.Size`): the sum of the lstat sizes of
 * everything that is not a directory, each inode counted once so hardlinks are not doubled.
 */
export async function directorySize(dir: string): Promise<number> {
  const seen = new Set<string>();
  let size = 0;
  for await (const { stats } of walkTree(dir)) {
    if (stats.isDirectory() || stats.size === 0) continue;
    const inode = `${stats.dev}:${stats.ino}`;
    if (seen.has(inode)) continue;
    seen.add(inode);
    size += stats.size;
  }
  return size;
}
