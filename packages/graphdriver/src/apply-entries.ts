import { rm } from "node:fs/promises";
import {
  chmodSync as chmod,
  closeSync,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync as lchown,
  linkSync as link,
  lstatSync,
  lutimesSync as lutimes,
  mkdirSync as mkdir,
  openSync,
  symlinkSync as symlink,
  writeSync,
  write as fsWrite,
  open as fsOpen,
  close as fsClose,
  fchown as fsFchown,
  fchmod as fsFchmod,
  futimes as fsFutimes,
  constants,
  type Stats,
} from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { StoreError, isStoreError, systemErrorCode } from "@store/errors";
import type { TarBody, TarEntry, TarHeader } from "@store/tar-split";
import { GraphDriverError, GraphDriverErrorCode } from "./errors";
import { entryRelativePath, parentOf } from "./entry-path";
import { S_IFBLK, S_IFCHR, S_IFIFO, type LinuxSyscalls } from "./linux-syscalls";
import { SmallFileWriter } from "./small-file-writer";
import { WHITEOUT_PREFIX, type ApplyHooks } from "./whiteout-hooks";

/** Options for {@link applyEntries}. */
export interface ApplyOptions {
  /** Driver-specific entry conversion (overlay2's whiteouts). */
  hooks?: ApplyHooks;
  /**
   * mknod and xattr calls. Without them, an entry that needs one (a device, a fifo, an xattr)
   * is refused with `ERR_GRAPHDRIVER_UNSUPPORTED` instead of being silently dropped.
   */
  syscalls?: LinuxSyscalls;
  /**
   * Whether to apply owners (lchown) and create device nodes. Defaults to running as root.
   * When false, files keep the current user's owner and device entries are refused.
   */
  privileged?: boolean;
  /**
   * `root` is empty when extraction starts (a fresh layer). Then a path can only exist if this
   * very extraction created it, which is tracked, so the lstat per entry is skipped.
   */
  emptyRoot?: boolean;
}

/** What {@link applyEntries} did. */
export interface ApplyResult {
  /** Bytes of regular-file content written. */
  size: number;
  /** Entries applied (whiteouts converted by a hook included). */
  entries: number;
  /**
   * `path: name` of xattrs the filesystem refused with ENOTSUP or EPERM; dockerd ignores those
   * too (with a warning), because not every backing filesystem supports every namespace.
   */
  ignoredXattrs: string[];
  /**
   * With `emptyRoot`, what moby's `directory.Size` of the root now returns (the size dockerd
   * records for a layer: each non-directory inode's size once, so regular files' bytes plus
   * symlink targets' lengths), known without walking the tree. Undefined when this extraction
   * replaced or removed something, or the root was not empty: then walk it.
   */
  diskSize: number | undefined;
}

/**
 * Extracts a stream of parsed tar entries into `root`, the way dockerd's `archive.Unpack` does
 * for overlay2 layers, but without the chroot dockerd relies on for safety. Instead, nothing is
 * ever written through a symlink: every parent directory of an entry is checked with lstat
 * (and created as a real directory when missing), so a symlink planted by an earlier entry
 * cannot lead a later one out of `root`.
 *
 * Names are cleaned like Go's `filepath.Clean`; absolute names land under `root` (as with
 * dockerd), names that climb out (`../x`) are refused, as are two entries with the same cleaned
 * path and hardlinks to anything outside `root` or behind a symlink. Symlinks may point anywhere
 * (they are resolved in the container, at run time). Owners, modes (setuid kept: chmod runs after lchown), xattrs and times are
 * applied; directory times last, after their contents.
 *
 * On error this throws a StoreError naming the entry and leaves what was written so far in
 * place: the caller (a driver's `applyDiff`) removes the partial layer.
 */
export async function applyEntries(
  root: string,
  entries: AsyncIterable<TarEntry>,
  options: ApplyOptions = {},
): Promise<ApplyResult> {
  const applier = new EntryApplier(root, options);
  try {
    for await (const entry of entries) {
      try {
        await applier.apply(entry);
      } catch (error) {
        throw described.has(error as object) ? error : describeFailure(error, entry.header.name, root);
      }
    }
    await applier.finish();
  } catch (error) {
    // No write may land after we return: the caller removes the partial layer next.
    await applier.settle();
    throw error;
  }
  return { size: applier.size, entries: applier.count, ignoredXattrs: applier.ignoredXattrs, diskSize: applier.diskSize };
}

/** Errors already wrapped by {@link describeFailure} (a pooled write's, thrown later). */
const described = new WeakSet<object>();

/** Wraps a failure so the message names the entry and the root, keeping a StoreError's code. */
function describeFailure(error: unknown, name: string, root: string): StoreError {
  const where = `tar entry ${JSON.stringify(name)} (extracting into ${root})`;
  if (isStoreError(error)) {
    const wrapped = new StoreError(error.code, `${where}: ${error.message}`, {
      details: { ...error.details, entry: name, root },
      cause: error,
    });
    described.add(wrapped);
    return wrapped;
  }
  const message = error instanceof Error ? error.message : String(error);
  const wrapped = new GraphDriverError(GraphDriverErrorCode.ApplyFailed, `${where}: ${message}`, {
    details: { entry: name, root, errno: systemErrorCode(error) },
    cause: error,
  });
  described.add(wrapped);
  return wrapped;
}

function breakout(message: string): StoreError {
  return new GraphDriverError(GraphDriverErrorCode.Breakout, message);
}

// Metadata calls are synchronous on purpose: each takes microseconds, while a round trip through
// libuv's thread pool costs tens, and a layer is thousands of them (measured: apply ≈2x faster).
function lstatOrUndefined(path: string): Stats | undefined {
  return lstatSync(path, { throwIfNoEntry: false });
}

class EntryApplier {
  size = 0;
  count = 0;
  readonly ignoredXattrs: string[] = [];
  /** Bytes of symlink targets written (a symlink's size on disk). */
  #symlinkBytes = 0;
  /** Something this extraction wrote was replaced or removed: counted sizes no longer add up. */
  #replaced = false;
  readonly #root: string;
  readonly #options: ApplyOptions;
  readonly #privileged: boolean;
  /** Cleaned paths seen so far: a second entry for one of them is refused. */
  readonly #seen = new Set<string>();
  /** Root-relative paths known to be real directories (not symlinks), so each is lstat'ed once. */
  readonly #realDirs = new Set<string>(["."]);
  /** With `emptyRoot`: every root-relative path this extraction created (links and dirs included). */
  readonly #created = new Set<string>();
  /** The process's umask and ids, to skip chmod/chown calls that would change nothing. */
  readonly #umask = process.umask();
  readonly #uid = typeof process.getuid === "function" ? process.getuid() : -1;
  readonly #gid = typeof process.getgid === "function" ? process.getgid() : -1;
  /** Small files being written in the background, and the first failure among them. */
  readonly #pending = new Set<Promise<void>>();
  #failure: StoreError | undefined;
  /** Small files past the first {@link WORKER_AFTER} go to the writer thread instead. */
  #smallFiles = 0;
  #writer: SmallFileWriter | undefined;
  /** Directory entries whose times are applied at the end, after their contents (as moby does). */
  readonly #dirTimes: Array<{ path: string; header: TarHeader }> = [];

  constructor(root: string, options: ApplyOptions) {
    this.#root = root;
    this.#options = options;
    this.#privileged = options.privileged ?? (typeof process.getuid === "function" && process.getuid() === 0);
  }

  get diskSize(): number | undefined {
    return this.#options.emptyRoot && !this.#replaced ? this.size + this.#symlinkBytes : undefined;
  }

  async apply(entry: TarEntry): Promise<void> {
    const header = entry.header;
    if (header.nameRaw !== undefined || header.linknameRaw !== undefined) {
      throw new GraphDriverError(GraphDriverErrorCode.Unsupported, "names and link targets that are not valid UTF-8 are not supported");
    }
    const rel = entryRelativePath(header.name);
    if (rel === undefined) throw breakout(`the path climbs out of the layer root`);
    if (this.#seen.has(rel)) {
      throw new GraphDriverError(GraphDriverErrorCode.DuplicateEntry, `the layer names ${JSON.stringify(rel)} twice`, {
        details: { path: rel },
      });
    }
    this.#seen.add(rel);

    if (rel === ".") {
      // moby skips a root entry when the root is a directory, which it always is.
      if (header.type === "directory") return;
      throw breakout(`an entry of type ${header.type} cannot replace the layer root`);
    }

    await this.#ensureRealDir(parentOf(rel), true);
    const path = join(this.#root, rel);

    // As moby: whatever exists there is replaced, unless both are directories (then merged).
    let existing: Stats | undefined;
    if (!this.#options.emptyRoot || this.#created.has(rel)) {
      await this.#drain(); // a background write of this very path must land before we look
      existing = lstatOrUndefined(path);
    }
    if (existing !== undefined && !(existing.isDirectory() && header.type === "directory")) {
      this.#replaced = true;
      await rm(path, { recursive: true, force: true });
      this.#forgetDirsUnder(rel);
    }
    this.#created.add(rel);

    this.count++;
    const hooks = this.#options.hooks;
    if (hooks?.convert !== undefined) {
      // A whiteout acts on an entry this layer may have written just before: let it land first.
      const base = rel.slice(rel.lastIndexOf("/") + 1);
      if (base.startsWith(WHITEOUT_PREFIX)) await this.#drain();
      const write = await hooks.convert({ header, relativePath: rel, path, root: this.#root });
      // A whiteout may land on a name this layer wrote: sizes counted so far could be gone.
      if (base.startsWith(WHITEOUT_PREFIX) && this.#created.has(whiteoutTarget(rel, base))) this.#replaced = true;
      if (!write) {
        // A whiteout hook makes `<name>` for `.wh.<name>`: remember it may exist now.
        if (base.startsWith(WHITEOUT_PREFIX)) this.#created.add(whiteoutTarget(rel, base));
        return;
      }
    }

    let linkTarget: Stats | undefined;
    switch (header.type) {
      case "directory":
        if (existing === undefined || !existing.isDirectory()) mkdir(path, 0o700);
        this.#realDirs.add(rel);
        this.#dirTimes.push({ path, header });
        break;
      case "file":
        if (header.size <= SMALL_FILE_MAX) {
          // On a disk where each create waits on the journal, several in flight beat one at a
          // time; the body is small, so holding it until its turn costs little.
          const data = await readSmallBody(entry.body);
          this.size += data.length;
          // xattrs need the syscalls this thread holds: such files keep the pool path.
          if (++this.#smallFiles > WORKER_AFTER && !hasXattrs(header)) {
            await this.#smallFileWriter().add({ path, name: header.name, data, ...this.#fileMetadata(header) });
            return;
          }
          await this.#background(header.name, () => this.#writeSmallFile(path, data, header));
          return;
        }
        // Owner, mode and times go through the open descriptor: fewer path lookups per file.
        await this.#writeFile(path, entry.body, header);
        return;
      case "symlink":
        // Any target is accepted, as dockerd does (it extracts in a chroot, where `..` stops at
        // the root): real layers hold links like `../../../lib/x` that climb past `/` and still
        // work. Symlinks are harmless here because no later entry is ever written through one.
        symlink(header.linkname, path);
        this.#symlinkBytes += Buffer.byteLength(header.linkname);
        break;
      case "hardlink":
        await this.#drain(); // the target may still be in flight
        linkTarget = await this.#hardlink(path, header.linkname);
        break;
      case "char":
      case "block":
        if (!this.#privileged) {
          throw new GraphDriverError(
            GraphDriverErrorCode.Permission,
            `creating a ${header.type} device (${header.devmajor}:${header.devminor}) needs root`,
          );
        }
        this.#requireSyscalls(`a ${header.type} device`).mknod(
          path,
          (header.type === "char" ? S_IFCHR : S_IFBLK) | (header.mode & 0o7777),
          header.devmajor,
          header.devminor,
        );
        break;
      case "fifo":
        this.#requireSyscalls("a fifo").mknod(path, S_IFIFO | (header.mode & 0o7777), 0, 0);
        break;
      default:
        throw new GraphDriverError(GraphDriverErrorCode.Unsupported, `entries of type ${String(header.type)} are not supported`);
    }

    await this.#applyMetadata(path, header, linkTarget);
  }

  /** Applies the times of directories, last, so creating their contents does not change them. */
  async finish(): Promise<void> {
    await this.#drain();
    for (const { path, header } of this.#dirTimes) {
      try {
        lutimes(path, accessTime(header), header.mtime);
      } catch (error) {
        throw describeFailure(error, header.name, this.#root);
      }
    }
  }

  /** Waits for every background write, ignoring failures (used on the way out of an error). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
    await this.#writer?.settle();
  }

  /** Waits for every background write; throws the first failure among them. */
  async #drain(): Promise<void> {
    if (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
    if (this.#failure) throw this.#failure;
    await this.#writer?.drain();
  }

  #smallFileWriter(): SmallFileWriter {
    this.#writer ??= new SmallFileWriter((error, name) => describeFailure(error, name, this.#root));
    return this.#writer;
  }

  /** Owner, chmod need and times of a regular file, as both small-file paths apply them. */
  #fileMetadata(header: TarHeader): { mode: number; owner: { uid: number; gid: number } | undefined; chmod: boolean; atime: number; mtime: number } {
    const mode = header.mode & 0o7777;
    const chown = this.#privileged && (header.uid !== this.#uid || header.gid !== this.#gid);
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
        this.#failure ??= describeFailure(error, name, this.#root);
      })
      .finally(() => this.#pending.delete(p));
    this.#pending.add(p);
  }

  async #writeSmallFile(path: string, data: Uint8Array, header: TarHeader): Promise<void> {
    const { mode, owner, chmod, atime, mtime } = this.#fileMetadata(header);
    // O_EXCL|O_NOFOLLOW never follows a symlink and never reuses a file that appeared since.
    const fd = await fdOpen(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode & 0o777);
    try {
      if (data.length > 0) await writeAll(fd, data);
      if (owner) await fdChown(fd, owner.uid, owner.gid);
      if (chmod) await fdChmod(fd, mode);
      this.#setXattrs(path, header);
      await fdUtimes(fd, atime, mtime);
    } finally {
      await fdClose(fd);
    }
  }

  async #writeFile(path: string, body: AsyncIterable<Uint8Array>, header: TarHeader): Promise<void> {
    // O_EXCL|O_NOFOLLOW never follows a symlink and never reuses a file that appeared since.
    const mode = header.mode & 0o7777;
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode & 0o777);
    try {
      // Large chunks go to the thread pool with one write in flight, so hashing and parsing the
      // next chunk overlap the disk; small ones are written at once (a round trip costs more).
      let inFlight: Promise<void> | undefined;
      for await (const chunk of body) {
        this.size += chunk.length;
        if (chunk.length >= ASYNC_WRITE_MIN) {
          await inFlight;
          inFlight = writeAll(fd, chunk);
        } else {
          await inFlight;
          inFlight = undefined;
          let offset = 0;
          while (offset < chunk.length) offset += writeSync(fd, chunk, offset, chunk.length - offset);
        }
      }
      await inFlight;
      const chown = this.#privileged && (header.uid !== this.#uid || header.gid !== this.#gid);
      if (chown) fchownSync(fd, header.uid, header.gid);
      // chown clears setuid/setgid, and the umask may have masked bits: chmod only then.
      if (chown || (mode & 0o7000) !== 0 || (mode & this.#umask) !== 0) fchmodSync(fd, mode);
      this.#setXattrs(path, header);
      futimesSync(fd, accessTime(header), header.mtime);
    } finally {
      closeSync(fd);
    }
  }

  async #hardlink(path: string, linkname: string): Promise<Stats> {
    const targetRel = entryRelativePath(linkname);
    if (targetRel === undefined || targetRel === ".") {
      throw breakout(`hardlink target ${JSON.stringify(linkname)} is outside the layer root`);
    }
    await this.#ensureRealDir(parentOf(targetRel), false);
    const target = join(this.#root, targetRel);
    const stats = lstatOrUndefined(target);
    if (stats === undefined) {
      throw new GraphDriverError(GraphDriverErrorCode.ApplyFailed, `hardlink target ${JSON.stringify(linkname)} does not exist in the layer`);
    }
    if (stats.isDirectory()) {
      throw new GraphDriverError(GraphDriverErrorCode.ApplyFailed, `hardlink target ${JSON.stringify(linkname)} is a directory`);
    }
    // link(2) does not follow a symlink target: the new name links the symlink itself.
    link(target, path);
    return stats;
  }

  async #applyMetadata(path: string, header: TarHeader, linkTarget: Stats | undefined): Promise<void> {
    const isSymlink = header.type === "symlink" || (linkTarget?.isSymbolicLink() ?? false);
    if (this.#privileged) lchown(path, header.uid, header.gid);

    this.#setXattrs(path, header);

    // There is no lchmod; chmod after lchown because chown clears setuid/setgid.
    if (!isSymlink) chmod(path, header.mode & 0o7777);
    if (header.type !== "directory") lutimes(path, accessTime(header), header.mtime);
  }

  #setXattrs(path: string, header: TarHeader): void {
    const xattrs = Object.entries(header.xattrs ?? {});
    if (xattrs.length > 0) {
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
  }

  /**
   * Makes sure the root-relative directory `rel` and each of its parents is a real directory,
   * creating missing ones (0755, as moby does) when `create` is set. A symlink or a file on the
   * way is refused: writing through it could leave the root.
   */
  async #ensureRealDir(rel: string, create: boolean): Promise<void> {
    if (this.#realDirs.has(rel)) return;
    await this.#ensureRealDir(parentOf(rel), create);
    const abs = join(this.#root, rel);
    if (this.#created.has(rel)) await this.#drain(); // it may be a file still in flight
    const stats = lstatOrUndefined(abs);
    if (stats === undefined) {
      if (!create) {
        throw new GraphDriverError(GraphDriverErrorCode.ApplyFailed, `directory ${JSON.stringify(rel)} does not exist in the layer`);
      }
      mkdir(abs, 0o755);
      chmod(abs, 0o755);
    } else if (stats.isSymbolicLink()) {
      throw breakout(`${JSON.stringify(rel)} on the way is a symlink; refusing to write through it`);
    } else if (!stats.isDirectory()) {
      throw new GraphDriverError(GraphDriverErrorCode.ApplyFailed, `${JSON.stringify(rel)} on the way is not a directory`);
    }
    this.#realDirs.add(rel);
  }

  #forgetDirsUnder(rel: string): void {
    for (const dir of this.#realDirs) {
      if (dir === rel || dir.startsWith(rel + "/")) this.#realDirs.delete(dir);
    }
  }

  #requireSyscalls(what: string): LinuxSyscalls {
    if (this.#options.syscalls === undefined) {
      throw new GraphDriverError(GraphDriverErrorCode.Unsupported, `applying ${what} needs system calls Node lacks; no syscalls were given`);
    }
    return this.#options.syscalls;
  }
}

/** Chunks at least this large are written asynchronously, overlapping the next chunk's work. */
const ASYNC_WRITE_MIN = 256 * 1024;

async function writeAll(fd: number, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await fdWrite(fd, chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}

const fdWrite = promisify(fsWrite);
const fdOpen = promisify(fsOpen);
const fdClose = promisify(fsClose);
const fdChown = promisify(fsFchown);
const fdChmod = promisify(fsFchmod);
const fdUtimes = promisify(fsFutimes);

/** Regular files up to this size are written in the background, {@link WRITE_BEHIND} at once. */
const SMALL_FILE_MAX = 256 * 1024;
const WRITE_BEHIND = 8;
/**
 * A layer's first small files go through the thread pool; past this many, the writer thread
 * (started once per process, ~20 ms) pays off, so tiny layers never wait for it to start.
 */
const WORKER_AFTER = 64;

async function readSmallBody(body: TarBody): Promise<Uint8Array> {
  const whole = body.readBuffered?.();
  if (whole !== undefined) return whole;
  const parts: Uint8Array[] = [];
  for await (const chunk of body) parts.push(chunk);
  // One chunk (the usual case) is kept as is: parseTar hands out views, never reused buffers.
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** The root-relative path a whiteout `<dir>/.wh.<name>` stands for. */
function whiteoutTarget(rel: string, base: string): string {
  return join(parentOf(rel), base.slice(WHITEOUT_PREFIX.length)).replace(/^\.\//, "");
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
