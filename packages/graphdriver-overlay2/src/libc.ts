import koffi, { type TypeObject } from "koffi";
import { GraphDriverError, GraphDriverErrorCode, type LinuxSyscalls } from "@store/graphdriver";

/** The libc functions overlay2 calls, bound once per process with koffi. */
interface Libc {
  mknod(path: string, mode: number, dev: bigint): number;
  lsetxattr(path: string, name: string, value: Uint8Array, size: number, flags: number): number;
  lgetxattr(path: string, name: string, value: Uint8Array | null, size: number): number | bigint;
  llistxattr(path: string, list: Uint8Array | null, size: number): number | bigint;
  mount(source: string, target: string, fstype: string, flags: number, data: string): number;
  umount2(target: string, flags: number): number;
  getpagesize(): number;
  opendir(path: string): unknown;
  readdir(dir: unknown): unknown;
  closedir(dir: unknown): number;
  dirent: TypeObject;
}

let bound: Libc | undefined;

/** Binds libc on first use; a platform without it gets ERR_GRAPHDRIVER_UNSUPPORTED. */
function libc(): Libc {
  if (bound !== undefined) return bound;
  try {
    const lib = koffi.load("libc.so.6");
    const dirent = koffi.struct({
      d_ino: "uint64",
      d_off: "int64",
      d_reclen: "uint16",
      d_type: "uint8",
      d_name: koffi.array("char", 256, "String"),
    });
    bound = {
      mknod: lib.func("int mknod(const char *path, uint32_t mode, uint64_t dev)"),
      lsetxattr: lib.func("int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)"),
      // ssize_t results: intptr_t keeps the sign (-1 on error).
      lgetxattr: lib.func("intptr_t lgetxattr(const char *path, const char *name, _Out_ void *value, size_t size)"),
      llistxattr: lib.func("intptr_t llistxattr(const char *path, _Out_ void *list, size_t size)"),
      mount: lib.func("int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)"),
      umount2: lib.func("int umount2(const char *target, int flags)"),
      getpagesize: lib.func("int getpagesize()"),
      opendir: lib.func("void *opendir(const char *name)"),
      readdir: lib.func("readdir", koffi.pointer(dirent), ["void *"]),
      closedir: lib.func("int closedir(void *dir)"),
      dirent,
    } as Libc;
    return bound;
  } catch (error) {
    throw new GraphDriverError(GraphDriverErrorCode.Unsupported, `overlay2 needs libc.so.6 through koffi: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

let errnoNames: Map<number, string> | undefined;

/** A Node-style system error (`code` = errno name) for the failed call. */
function systemError(call: string, path: string): NodeJS.ErrnoException {
  const errno = koffi.errno();
  errnoNames ??= new Map(Object.entries(koffi.os.errno).map(([name, value]) => [value, name]));
  const code = errnoNames.get(errno) ?? `E${errno}`;
  const error: NodeJS.ErrnoException = new Error(`${code}: ${call} ${JSON.stringify(path)} failed (errno ${errno})`);
  error.code = code;
  error.errno = -errno;
  error.syscall = call;
  error.path = path;
  return error;
}

/** Linux's `makedev()`. */
function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

const ENODATA_OR_UNSUPPORTED = new Set(["ENODATA", "ENOTSUP", "EOPNOTSUPP"]);

/** mknod and xattr calls for `applyEntries` / `layerEntries`, through libc. */
export const linuxSyscalls: LinuxSyscalls = {
  mknod(path, mode, major, minor) {
    if (libc().mknod(path, mode, makedev(major, minor)) !== 0) throw systemError("mknod", path);
  },
  lsetxattr(path, name, value) {
    if (libc().lsetxattr(path, name, value, value.length, 0) !== 0) throw systemError(`lsetxattr ${name}`, path);
  },
  lgetxattr(path, name) {
    const c = libc();
    for (let size = 256; ; size *= 4) {
      const buffer = new Uint8Array(size);
      const n = Number(c.lgetxattr(path, name, buffer, size));
      if (n >= 0) return buffer.slice(0, n);
      const error = systemError(`lgetxattr ${name}`, path);
      if (error.code === "ERANGE" && size < 1 << 20) continue;
      if (ENODATA_OR_UNSUPPORTED.has(error.code!)) return undefined;
      throw error;
    }
  },
  llistxattr(path) {
    const c = libc();
    for (let size = 1024; ; size *= 4) {
      const buffer = new Uint8Array(size);
      const n = Number(c.llistxattr(path, buffer, size));
      if (n >= 0) {
        return Buffer.from(buffer.subarray(0, n))
          .toString("utf8")
          .split("\0")
          .filter((name) => name !== "");
      }
      const error = systemError("llistxattr", path);
      if (error.code === "ERANGE" && size < 1 << 20) continue;
      if (error.code === "ENOTSUP" || error.code === "EOPNOTSUPP") return [];
      throw error;
    }
  },
};

/** mount(2). */
export function mount(source: string, target: string, fstype: string, flags: number, data: string): void {
  if (libc().mount(source, target, fstype, flags, data) !== 0) throw systemError(`mount ${fstype}`, target);
}

export const MNT_DETACH = 2;

/** umount2(2). */
export function unmount(target: string, flags = 0): void {
  if (libc().umount2(target, flags) !== 0) throw systemError("umount2", target);
}

/** The kernel's page size: mount(2) takes at most a page of options. */
export function pageSize(): number {
  return libc().getpagesize();
}

/**
 * The `d_type` readdir(3) reports for each name in `dir` (0 = DT_UNKNOWN). Node's readdir hides
 * DT_UNKNOWN by falling back to lstat, so it cannot tell whether the filesystem fills d_type,
 * which overlay needs.
 */
export function direntTypes(dir: string): Map<string, number> {
  const c = libc();
  const handle = c.opendir(dir);
  if (handle === null) throw systemError("opendir", dir);
  const types = new Map<string, number>();
  try {
    for (;;) {
      const entry = c.readdir(handle);
      if (entry === null) break;
      const { d_name, d_type } = koffi.decode(entry, c.dirent) as { d_name: string; d_type: number };
      types.set(d_name, d_type);
    }
  } finally {
    c.closedir(handle);
  }
  return types;
}
