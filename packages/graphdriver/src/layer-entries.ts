import { open } from "node:fs/promises";
import { readlink } from "node:fs/promises";
import type { Stats } from "node:fs";
import type { TarEntryType } from "@store/tar-split";
import type { LinuxSyscalls } from "./linux-syscalls";
import type { ExportEntry, ExportHeader, ExportHooks } from "./whiteout-hooks";
import { walkTree } from "./walk-tree";
import { hostOwnerNames, type OwnerNames } from "./owner-names";

/** Options for {@link layerEntries}. */
export interface ExportOptions {
  /** Driver-specific conversion (overlay2 turns its whiteouts back into `.wh.` files). */
  hooks?: ExportHooks;
  /** Used to read `security.capability`, the one xattr dockerd exports; without it none is. */
  syscalls?: LinuxSyscalls;
  /** uname/gname for each uid/gid; default {@link hostOwnerNames}, as dockerd 20.10 does. */
  ownerNames?: OwnerNames;
}

/** Linux's `major()`/`minor()` of a `dev_t`. */
export function deviceNumbers(rdev: number): { major: number; minor: number } {
  const dev = BigInt(rdev);
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n);
  const minor = (dev & 0xffn) | ((dev >> 12n) & 0xffffff00n);
  return { major: Number(major), minor: Number(minor) };
}

function entryType(stats: Stats): TarEntryType | undefined {
  if (stats.isFile()) return "file";
  if (stats.isDirectory()) return "directory";
  if (stats.isSymbolicLink()) return "symlink";
  if (stats.isCharacterDevice()) return "char";
  if (stats.isBlockDevice()) return "block";
  if (stats.isFIFO()) return "fifo";
  return undefined; // sockets: dockerd logs "sockets not supported" and leaves them out
}

/** Exactly `size` bytes of the file (the size its header announced), in chunks of up to 1 MiB. */
async function* readFile(path: string, size: number): AsyncGenerator<Uint8Array> {
  const handle = await open(path, "r");
  try {
    let left = size;
    while (left > 0) {
      const buffer = Buffer.allocUnsafe(Math.min(left, 1 << 20));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return; // shrank meanwhile: the tar writer reports the short entry
      left -= bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/**
 * The entries of a tar of the layer directory `dir`, built as dockerd's `archive.TarWithOptions`
 * builds them (ready for `writeTar`): Go's walk order, names relative with a `/` after
 * directories, the mode field = `st_mode` (`rawMode`, with the file-type bits moby's
 * `fillGo18FileTypeBits` adds), mtime truncated to the second, no atime/ctime, uname/gname looked
 * up on the host (as Go's `tar.FileInfoHeader` does for dockerd 20.10),
 * only `security.capability` among xattrs, a second name of a regular file's inode emitted as a
 * hardlink to the first, sockets left out.
 */
export async function* layerEntries(dir: string, options: ExportOptions = {}): AsyncGenerator<ExportEntry> {
  const firstNames = new Map<string, string>();
  const names = options.ownerNames ?? (await hostOwnerNames());
  for await (const { relativePath, path, stats } of walkTree(dir)) {
    const type = entryType(stats);
    if (type === undefined) continue;
    const header: ExportHeader = {
      name: type === "directory" ? `${relativePath}/` : relativePath,
      type,
      mode: stats.mode & 0o7777,
      rawMode: stats.mode & 0o177777,
      uid: stats.uid,
      gid: stats.gid,
      uname: names.user(stats.uid),
      gname: names.group(stats.gid),
      size: 0,
      mtime: new Date(Math.floor(stats.mtimeMs / 1000) * 1000),
      linkname: "",
      devmajor: 0,
      devminor: 0,
      xattrs: {},
    };
    if (type === "symlink") header.linkname = await readlink(path);
    if (type === "char" || type === "block") {
      const { major, minor } = deviceNumbers(stats.rdev);
      header.devmajor = major;
      header.devminor = minor;
    }
    const capability = options.syscalls?.lgetxattr(path, "security.capability");
    if (capability !== undefined) header.xattrs = { "security.capability": capability };

    let readBody = false;
    if (type === "file") {
      const inode = `${stats.dev}:${stats.ino}`;
      const first = stats.nlink > 1 ? firstNames.get(inode) : undefined;
      if (first !== undefined) {
        header.type = "hardlink";
        header.linkname = first;
      } else {
        if (stats.nlink > 1) firstNames.set(inode, relativePath);
        header.size = stats.size;
        readBody = stats.size > 0;
      }
    }

    const extra = await options.hooks?.convert?.({ header, path, stats });
    // A hook may turn the file into something without content (a whiteout).
    const withBody = readBody && header.type === "file" && header.size === stats.size;
    yield withBody ? { header, body: readFile(path, stats.size) } : { header };
    if (extra !== undefined) yield { header: extra };
  }
}
