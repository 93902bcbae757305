import {
  chmodSync,
  close as fsClose,
  constants,
  fchmod as fsFchmod,
  fchmodSync,
  fchown as fsFchown,
  fchownSync,
  futimes as fsFutimes,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  open as fsOpen,
  closeSync,
  openSync,
  symlinkSync,
  write as fsWrite,
  writev as fsWritev,
} from "node:fs";
import { rm } from "node:fs/promises";
import { promisify } from "node:util";
import { type StoreError, systemErrorCode } from "@store/errors";
import type { TarBody, TarHeader } from "@store/tar-split";
import type { EntryWriter } from "./entry-writer";
import { GraphDriverError, GraphDriverErrorCode } from "./errors";
import type { PathKind } from "./extract-policy";
import { S_IFBLK, S_IFCHR, S_IFIFO, type LinuxSyscalls } from "./linux-syscalls";
import { SmallFileWriter } from "./small-file-writer";

/** Options of {@link FsEntryWriter}. */
export interface FsEntryWriterOptions {
  /** mknod and xattr calls; without them a device, fifo or xattr is refused (`ERR_GRAPHDRIVER_UNSUPPORTED`). */
  syscalls?: LinuxSyscalls | undefined;
  /** Apply owners and create devices (root); otherwise files keep the process's owner. */
  privileged: boolean;
  /** Turns a failure of a background write into the error the extraction throws (naming the entry). */
  describe: (error: unknown, name: string) => StoreError;
  /**
   * Called between a large file's chunks: lets the event loop take a turn when the extraction
   * has held it for long (see `eventLoopTurns`; the caller's, so that one budget spans entries).
   */
  turn?: () => Promise<void>;
}

/**
 * The writer for a local filesystem (what overlay2 extracts with). Per entry, metadata calls
 * (mkdir, symlink, lchown, chmod, lutimes) are synchronous: each is one system call of a few
 * microseconds, where a trip through libuv's thread pool costs tens, and a layer has thousands
 * (measured: apply ≈2x faster). Nothing else blocks the thread: regular files' content goes
 * through the thread pool (large files, one write in flight so the next chunk is parsed and
 * hashed meanwhile) or the small-file writer thread (many small files, batched), and the
 * extractor lets the event loop take turns between entries.
 */
export class FsEntryWriter implements EntryWriter {
  readonly ignoredXattrs: string[] = [];
  readonly #options: FsEntryWriterOptions;
  /** The process's umask and ids, to skip chmod/chown calls that would change nothing. */
  readonly #umask = process.umask();
  readonly #uid = typeof process.getuid === "function" ? process.getuid() : -1;
  readonly #gid = typeof process.getgid === "function" ? process.getgid() : -1;
  /** Small files being written through the thread pool, and the first failure among them. */
  readonly #pending = new Set<Promise<void>>();
  #failure: StoreError | undefined;
  /** Small files past the first {@link WORKER_AFTER} go to the writer thread instead. */
  #smallFiles = 0;
  #writer: SmallFileWriter | undefined;

  constructor(options: FsEntryWriterOptions) {
    this.#options = options;
  }

  async lookup(path: string): Promise<PathKind | undefined> {
    const stats = lstatSync(path, { throwIfNoEntry: false });
    if (stats === undefined) return undefined;
    return stats.isDirectory() ? "directory" : stats.isSymbolicLink() ? "symlink" : "other";
  }

  async parentDirectory(path: string): Promise<void> {
    mkdirSync(path, 0o755);
    chmodSync(path, 0o755); // the umask may have masked bits
  }

  async remove(path: string): Promise<void> {
    await rm(path, { recursive: true, force: true });
  }

  async directory(path: string, header: TarHeader, exists: boolean): Promise<void> {
    if (!exists) mkdirSync(path, 0o700);
    this.#metadata(path, header, false, false);
  }

  async file(path: string, header: TarHeader, body: TarBody): Promise<number> {
    if (header.size > SMALL_FILE_MAX) return this.#largeFile(path, header, body);
    // On a disk where each create waits on the journal, several in flight beat one at a
    // time; the body is small, so holding it until its turn costs little.
    const data = await readSmallBody(body);
    // xattrs need the syscalls this thread holds: such files keep the pool path.
    if (++this.#smallFiles > WORKER_AFTER && !hasXattrs(header)) {
      await this.#smallFileWriter().add({ path, name: header.name, data, ...this.#fileMetadata(header) });
    } else {
      await this.#background(header.name, () => this.#smallFile(path, data, header));
    }
    return data.length;
  }

  async symlink(path: string, header: TarHeader): Promise<void> {
    // Any target is accepted, as dockerd does (it extracts in a chroot, where `..` stops at the
    // root): real layers hold links like `../../../lib/x` that climb past `/` and still work.
    // Symlinks are harmless here because no later entry is ever written through one.
    symlinkSync(header.linkname, path);
    this.#metadata(path, header, true, true);
  }

  async hardlink(path: string, target: string, targetKind: PathKind, header: TarHeader): Promise<void> {
    // link(2) does not follow a symlink target: the new name links the symlink itself.
    linkSync(target, path);
    this.#metadata(path, header, targetKind === "symlink", true);
  }

  async special(path: string, header: TarHeader): Promise<void> {
    if (header.type === "fifo") {
      this.#requireSyscalls("a fifo").mknod(path, S_IFIFO | (header.mode & 0o7777), 0, 0);
    } else {
      if (!this.#options.privileged) {
        throw new GraphDriverError(GraphDriverErrorCode.Permission, `creating a ${header.type} device (${header.devmajor}:${header.devminor}) needs root`);
      }
      this.#requireSyscalls(`a ${header.type} device`).mknod(
        path,
        (header.type === "char" ? S_IFCHR : S_IFBLK) | (header.mode & 0o7777),
        header.devmajor,
        header.devminor,
      );
    }
    this.#metadata(path, header, false, true);
  }

  async directoryTimes(path: string, header: TarHeader): Promise<void> {
    lutimesSync(path, accessTime(header), header.mtime);
  }

  async drain(): Promise<void> {
    if (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
    if (this.#failure) throw this.#failure;
    await this.#writer?.drain();
  }

  async settle(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
    await this.#writer?.settle();
  }

  /** Owner, mode, xattrs and (unless a directory's, which come last) times of a non-regular entry. */
  #metadata(path: string, header: TarHeader, isSymlink: boolean, times: boolean): void {
    if (this.#options.privileged) lchownSync(path, header.uid, header.gid);
    this.#setXattrs(path, header);
    // There is no lchmod; chmod after lchown because chown clears setuid/setgid.
    if (!isSymlink) chmodSync(path, header.mode & 0o7777);
    if (times) lutimesSync(path, accessTime(header), header.mtime);
  }

  #smallFileWriter(): SmallFileWriter {
    this.#writer ??= new SmallFileWriter(this.#options.describe);
    return this.#writer;
  }

  /** Owner, chmod need and times of a regular file, as both small-file paths apply them. */
  #fileMetadata(header: TarHeader): { mode: number; owner: { uid: number; gid: number } | undefined; chmod: boolean; atime: number; mtime: number } {
    const mode = header.mode & 0o7777;
    const chown = this.#options.privileged && (header.uid !== this.#uid || header.gid !== this.#gid);
    return {
      mode,
      owner: chown ? { uid: header.uid, gid: header.gid } : undefined,
      // chown clears setuid/setgid, and the umask may have masked bits: chmod only then.
      chmod: chown || (mode & 0o7000) !== 0 || (mode & this.#umask) !== 0,
      atime: accessTime(header).getTime() / 1000,
      mtime: header.mtime.getTime() / 1000,
    };
  }

  /** Runs `task` in the background, at most {@link WRITE_BEHIND} at once. */
  async #background(name: string, task: () => Promise<void>): Promise<void> {
    if (this.#failure) throw this.#failure;
    while (this.#pending.size >= WRITE_BEHIND) await Promise.race(this.#pending);
    if (this.#failure) throw this.#failure;
    const p: Promise<void> = task()
      .catch((error: unknown) => {
        this.#failure ??= this.#options.describe(error, name);
      })
      .finally(() => this.#pending.delete(p));
    this.#pending.add(p);
  }

  async #smallFile(path: string, data: Uint8Array, header: TarHeader): Promise<void> {
    const { mode, owner, chmod, atime, mtime } = this.#fileMetadata(header);
    const fd = await fdOpen(path, CREATE_FLAGS, mode & 0o777);
    try {
      if (data.length > 0) await writeAllAt(fd, data, 0);
      if (owner) await fdChown(fd, owner.uid, owner.gid);
      if (chmod) await fdChmod(fd, mode);
      this.#setXattrs(path, header);
      await fdUtimes(fd, atime, mtime);
    } finally {
      await fdClose(fd);
    }
  }

  async #largeFile(path: string, header: TarHeader, body: TarBody): Promise<number> {
    const { mode, owner, chmod } = this.#fileMetadata(header);
    // Owner, mode and times go through the open descriptor: fewer path lookups per file.
    const fd = openSync(path, CREATE_FLAGS, mode & 0o777);
    let size = 0;
    // Every chunk goes through the thread pool, a few in flight at their own offsets, so parsing
    // and hashing the next chunks overlap the disk and a write throttled by the kernel's
    // dirty-page limit never stalls this thread. (One in flight left the main thread waiting on
    // each write: a load spent ~7% longer idle than when small chunks were written in place.)
    const inFlight: Promise<void>[] = [];
    // Chunks are gathered into one pwritev of about LARGE_WRITE_BATCH bytes: a body arrives in
    // the pieces the request or decompressor gave (often 16-32 KiB), and each trip through the
    // thread pool costs the main thread ~15 us (measured: a 190 MB load spent a sixth of its
    // main thread dispatching them). The chunks are views parseTar never reuses: holding is safe.
    let batch: Uint8Array[] = [];
    let batchBytes = 0;
    const flush = async () => {
      if (inFlight.length >= LARGE_WRITES_IN_FLIGHT) await inFlight.shift();
      const write = writevAllAt(fd, batch, size);
      write.catch(() => undefined); // awaited in turn below; not unhandled meanwhile
      inFlight.push(write);
      size += batchBytes;
      batch = [];
      batchBytes = 0;
    };
    try {
      for await (const chunk of body) {
        batch.push(chunk);
        batchBytes += chunk.length;
        if (batchBytes >= LARGE_WRITE_BATCH) await flush();
        // Buffered chunks resume as microtasks, and with writes gathered this loop seldom waits
        // on one: without turns a large file kept a daemon's other requests waiting.
        await this.#options.turn?.();
      }
      if (batchBytes > 0) await flush();
      for (const write of inFlight.splice(0)) await write;
      if (owner) fchownSync(fd, owner.uid, owner.gid);
      if (chmod) fchmodSync(fd, mode);
      this.#setXattrs(path, header);
      futimesSync(fd, accessTime(header), header.mtime);
    } finally {
      // When the body fails (an abort, a truncated tar) writes may still be in the thread pool:
      // closing under them would fail them with EBADF, unhandled, or worse, let them land in
      // whatever file reuses the descriptor number next. Wait for them; their own errors are
      // not the one to report.
      await Promise.allSettled(inFlight);
      closeSync(fd);
    }
    return size;
  }

  #setXattrs(path: string, header: TarHeader): void {
    const xattrs = Object.entries(header.xattrs ?? {});
    if (xattrs.length === 0) return;
    const syscalls = this.#requireSyscalls("xattrs");
    for (const [name, value] of xattrs) {
      try {
        syscalls.lsetxattr(path, name, value);
      } catch (error) {
        const code = systemErrorCode(error);
        if (code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "EPERM") throw error;
        this.ignoredXattrs.push(`${header.name}: ${name}`);
      }
    }
  }

  #requireSyscalls(what: string): LinuxSyscalls {
    if (this.#options.syscalls === undefined) {
      throw new GraphDriverError(GraphDriverErrorCode.Unsupported, `applying ${what} needs system calls Node lacks; no syscalls were given`);
    }
    return this.#options.syscalls;
  }
}

/** O_EXCL|O_NOFOLLOW never follows a symlink and never reuses a file that appeared since. */
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** Regular files up to this size are written in the background, {@link WRITE_BEHIND} at once. */
const SMALL_FILE_MAX = 256 * 1024;
const WRITE_BEHIND = 8;
/**
 * A layer's first small files go through the thread pool; past this many, the writer thread
 * (started once per process, ~20 ms) pays off, so tiny layers never wait for it to start.
 */
const WORKER_AFTER = 64;

/** Large-file writes in the thread pool at once, each at its own offset (pwritev). */
const LARGE_WRITES_IN_FLIGHT = 4;
/** Bytes gathered into one large-file write. */
const LARGE_WRITE_BATCH = 1024 * 1024;

/** Writes all of `chunk` at `position` (a single pwrite may be short). */
async function writeAllAt(fd: number, chunk: Uint8Array, position: number): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await fdWrite(fd, chunk, offset, chunk.length - offset, position + offset);
    offset += bytesWritten;
  }
}

/** Writes all of `chunks`, in order, at `position` (a single pwritev may be short). */
async function writevAllAt(fd: number, chunks: Uint8Array[], position: number): Promise<void> {
  let rest = chunks;
  while (rest.length > 0) {
    let written = await fdWritev(fd, rest, position);
    position += written;
    let i = 0;
    while (i < rest.length && written >= rest[i]!.length) written -= rest[i++]!.length;
    rest = rest.slice(i);
    if (written > 0) rest[0] = rest[0]!.subarray(written);
  }
}

const fdWrite = promisify(fsWrite);
const fdWritev = (fd: number, chunks: Uint8Array[], position: number) =>
  new Promise<number>((resolve, reject) => fsWritev(fd, chunks, position, (e, n) => (e ? reject(e) : resolve(n))));
const fdOpen = promisify(fsOpen);
const fdClose = promisify(fsClose);
const fdChown = promisify(fsFchown);
const fdChmod = promisify(fsFchmod);
const fdUtimes = promisify(fsFutimes);

async function readSmallBody(body: TarBody): Promise<Uint8Array> {
  const whole = body.readBuffered?.();
  if (whole !== undefined) return whole;
  const parts: Uint8Array[] = [];
  for await (const chunk of body) parts.push(chunk);
  // One chunk (the usual case) is kept as is: parseTar hands out views, never reused buffers.
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

function hasXattrs(header: TarHeader): boolean {
  for (const _ in header.xattrs) return true;
  return false;
}

/** moby never sets an access time before the modification time. */
function accessTime(header: TarHeader): Date {
  const atime = header.atime;
  return atime !== undefined && atime.getTime() >= header.mtime.getTime() ? atime : header.mtime;
}
