import { join } from "node:path";
import { StoreError, isStoreError, systemErrorCode } from "@store/errors";
import type { TarEntry, TarHeader } from "@store/tar-split";
import type { EntryWriter } from "./entry-writer";
import { GraphDriverError, GraphDriverErrorCode } from "./errors";
import { eventLoopTurns } from "./event-loop-turn";
import { ExtractPolicy } from "./extract-policy";
import { FsEntryWriter } from "./fs-entry-writer";
import type { LinuxSyscalls } from "./linux-syscalls";
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
 * cannot lead a later one out of `root` (the rules are {@link ExtractPolicy}'s; the writing is
 * an {@link EntryWriter}'s).
 *
 * Names are cleaned like Go's `filepath.Clean`; absolute names land under `root` (as with
 * dockerd), names that climb out (`../x`) are refused, as are two entries with the same cleaned
 * path and hardlinks to anything outside `root` or behind a symlink. Symlinks may point anywhere
 * (they are resolved in the container, at run time). Owners, modes (setuid kept: chmod runs
 * after lchown), xattrs and times are applied; directory times last, after their contents.
 *
 * The calling thread is never held for long: content goes through the thread pool or a writer
 * thread, and the loop lets the event loop take a turn every few milliseconds (a daemon keeps
 * answering requests while it extracts).
 *
 * On error this throws a StoreError naming the entry and leaves what was written so far in
 * place: the caller (a driver's `applyDiff`) removes the partial layer.
 */
export async function applyEntries(root: string, entries: AsyncIterable<TarEntry>, options: ApplyOptions = {}): Promise<ApplyResult> {
  const privileged = options.privileged ?? (typeof process.getuid === "function" && process.getuid() === 0);
  const turn = eventLoopTurns();
  const writer = new FsEntryWriter({ syscalls: options.syscalls, privileged, describe: (error, name) => describeFailure(error, name, root), turn });
  const applier = new EntryApplier(root, writer, options);
  try {
    for await (const entry of entries) {
      try {
        await applier.apply(entry);
      } catch (error) {
        throw described.has(error as object) ? error : describeFailure(error, entry.header.name, root);
      }
      await turn();
    }
    await applier.finish();
  } catch (error) {
    // No write may land after we return: the caller removes the partial layer next.
    await writer.settle();
    throw error;
  }
  return { size: applier.size, entries: applier.count, ignoredXattrs: [...writer.ignoredXattrs], diskSize: applier.diskSize };
}

/** Errors already wrapped by {@link describeFailure} (a background write's, thrown later). */
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

/** One extraction: asks the policy where each entry goes, has the writer put it there. */
class EntryApplier {
  size = 0;
  count = 0;
  /** Bytes of symlink targets written (a symlink's size on disk). */
  #symlinkBytes = 0;
  readonly #root: string;
  readonly #writer: EntryWriter;
  readonly #policy: ExtractPolicy;
  readonly #options: ApplyOptions;
  /** Directory entries whose times are applied at the end, after their contents (as moby does). */
  readonly #dirTimes: Array<{ path: string; header: TarHeader }> = [];

  constructor(root: string, writer: EntryWriter, options: ApplyOptions) {
    this.#root = root;
    this.#writer = writer;
    this.#options = options;
    this.#policy = new ExtractPolicy(
      async (rel, written) => {
        // A background write of this very path must land before we look.
        if (written) await writer.drain();
        return writer.lookup(join(root, rel));
      },
      { emptyRoot: options.emptyRoot ?? false },
    );
  }

  get diskSize(): number | undefined {
    return this.#options.emptyRoot && !this.#policy.replacedOwnWrite ? this.size + this.#symlinkBytes : undefined;
  }

  async apply(entry: TarEntry): Promise<void> {
    const header = entry.header;
    const placement = await this.#policy.place(header);
    if (placement.skip) return;
    const rel = placement.relativePath;
    for (const dir of placement.missingDirs) await this.#writer.parentDirectory(join(this.#root, dir));
    const path = join(this.#root, rel);
    if (placement.replace) await this.#writer.remove(path);

    this.count++;
    const hooks = this.#options.hooks;
    if (hooks?.convert !== undefined) {
      const base = rel.slice(rel.lastIndexOf("/") + 1);
      const whiteout = base.startsWith(WHITEOUT_PREFIX);
      // A whiteout acts on an entry this layer may have written just before: let it land first.
      if (whiteout) await this.#writer.drain();
      const write = await hooks.convert({ header, relativePath: rel, path, root: this.#root });
      // A whiteout may replace or remove a name this layer wrote: the policy must know.
      if (whiteout && !write) this.#policy.whiteout(rel);
      if (!write) return;
    }

    switch (header.type) {
      case "directory":
        await this.#writer.directory(path, header, placement.existing === "directory" && !placement.replace);
        this.#policy.directoryWritten(rel);
        this.#dirTimes.push({ path, header });
        return;
      case "file":
        this.size += await this.#writer.file(path, header, entry.body);
        return;
      case "symlink":
        await this.#writer.symlink(path, header);
        this.#symlinkBytes += Buffer.byteLength(header.linkname);
        return;
      case "hardlink": {
        const target = await this.#policy.hardlinkTarget(header.linkname);
        await this.#writer.hardlink(path, join(this.#root, target.relativePath), target.kind, header);
        return;
      }
      case "char":
      case "block":
      case "fifo":
        await this.#writer.special(path, header);
        return;
      default:
        throw new GraphDriverError(GraphDriverErrorCode.Unsupported, `entries of type ${String(header.type)} are not supported`);
    }
  }

  /** Applies the times of directories, last, so creating their contents does not change them. */
  async finish(): Promise<void> {
    await this.#writer.drain();
    const turn = eventLoopTurns();
    for (const { path, header } of this.#dirTimes) {
      try {
        await this.#writer.directoryTimes(path, header);
      } catch (error) {
        throw describeFailure(error, header.name, this.#root);
      }
      await turn();
    }
  }
}
