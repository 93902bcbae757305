import { lchown, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { systemErrorCode } from "@store/errors";
import {
  S_IFCHR,
  WHITEOUT_OPAQUE_DIR,
  WHITEOUT_PREFIX,
  deviceNumbers,
  type ApplyHooks,
  type DeletionDetector,
  type ExportHooks,
  type LinuxSyscalls,
} from "@store/graphdriver";

/** The xattr overlayfs reads to treat a directory as opaque. */
export const OPAQUE_XATTR = "trusted.overlay.opaque";

function isOpaque(syscalls: LinuxSyscalls, path: string): boolean {
  const value = syscalls.lgetxattr(path, OPAQUE_XATTR);
  return value !== undefined && value.length === 1 && value[0] === 0x79; // "y"
}

/**
 * Apply side of moby's `overlayWhiteoutConverter.ConvertRead`: `<dir>/.wh..wh..opq` marks `<dir>`
 * opaque with `trusted.overlay.opaque=y` (the marker itself is not written); `<dir>/.wh.<name>`
 * becomes the 0/0 character device `<dir>/<name>` that overlayfs reads as a deletion, owned as
 * the whiteout entry was.
 */
export function overlayApplyHooks(syscalls: LinuxSyscalls, privileged: boolean): ApplyHooks {
  return {
    async convert({ header, path }) {
      const base = basename(path);
      const dir = dirname(path);
      if (base === WHITEOUT_OPAQUE_DIR) {
        syscalls.lsetxattr(dir, OPAQUE_XATTR, Uint8Array.of(0x79));
        return false;
      }
      if (base.startsWith(WHITEOUT_PREFIX)) {
        const original = join(dir, base.slice(WHITEOUT_PREFIX.length));
        syscalls.mknod(original, S_IFCHR, 0, 0);
        if (privileged) await lchown(original, header.uid, header.gid);
        return false;
      }
      return true;
    },
  };
}

/**
 * Export side of moby's `overlayWhiteoutConverter.ConvertWrite`: a 0/0 character device becomes
 * an empty regular `.wh.<name>` (mode 0600); an opaque directory is followed by a
 * `<dir>/.wh..wh..opq` entry with the directory's permissions and owner and a zero mtime.
 */
export function overlayExportHooks(syscalls: LinuxSyscalls): ExportHooks {
  return {
    convert({ header, path, stats }) {
      if (stats.isCharacterDevice()) {
        const { major, minor } = deviceNumbers(stats.rdev);
        if (major === 0 && minor === 0) {
          const slash = header.name.lastIndexOf("/");
          header.name = header.name.slice(0, slash + 1) + WHITEOUT_PREFIX + header.name.slice(slash + 1);
          header.type = "file";
          header.mode = 0o600;
          delete header.rawMode; // moby sets the whole mode field to 0600: no file-type bits
          header.size = 0;
          header.devmajor = 0;
          header.devminor = 0;
        }
        return undefined;
      }
      if (stats.isDirectory() && isOpaque(syscalls, path)) {
        return {
          name: `${header.name.replace(/\/$/, "")}/${WHITEOUT_OPAQUE_DIR}`,
          type: "file",
          mode: (header.mode ?? 0) & 0o777,
          uid: header.uid ?? 0,
          gid: header.gid ?? 0,
          uname: header.uname ?? "",
          gname: header.gname ?? "",
          size: 0,
          mtime: new Date(0),
          linkname: "",
          devmajor: 0,
          devminor: 0,
          xattrs: {},
        };
      }
      return undefined;
    },
  };
}

async function existsFollowing(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    const code = systemErrorCode(error);
    if (code === "ENOENT" || code === "ENOTDIR") return false;
    throw error;
  }
}

/**
 * moby's `overlayDeletedFile`, for `layerChanges`: a 0/0 character device is a deleted file; an
 * opaque directory that exists in a lower layer is a deleted (then re-created) directory.
 */
export function overlayDeletion(syscalls: LinuxSyscalls): DeletionDetector {
  return async (upper, path, stats, lowers) => {
    if (stats.isCharacterDevice()) {
      const { major, minor } = deviceNumbers(stats.rdev);
      if (major === 0 && minor === 0) return path;
    }
    if (stats.isDirectory() && isOpaque(syscalls, join(upper, path))) {
      for (const lower of lowers) {
        if (await existsFollowing(join(lower, path))) return path;
      }
    }
    return undefined;
  };
}
