/**
 * The system calls Node's `fs` lacks and layer extraction needs. Drivers that run on Linux pass
 * an implementation (overlay2 binds libc with koffi); this package stays free of native code so
 * that drivers for other platforms, and the layer store, can use it without loading any.
 *
 * Every method throws a Node-style error with `code` set to the errno name (`EPERM`, `ENOTSUP`…).
 */
export interface LinuxSyscalls {
  /** mknod(2): `mode` carries the file type bits (S_IFCHR, S_IFBLK, S_IFIFO) and permissions. */
  mknod(path: string, mode: number, major: number, minor: number): void;
  /** lsetxattr(2). */
  lsetxattr(path: string, name: string, value: Uint8Array): void;
  /** lgetxattr(2); `undefined` when the attribute is absent (ENODATA) or unsupported. */
  lgetxattr(path: string, name: string): Uint8Array | undefined;
  /** llistxattr(2): attribute names; empty when the filesystem has none. */
  llistxattr(path: string): string[];
}

/** File type bits of `st_mode`. */
export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;
