import type { TarBody, TarHeader } from "@store/tar-split";
import type { PathKind } from "./extract-policy";

/**
 * How an extraction puts entries on disk, once {@link ExtractPolicy} decided where they go:
 * every path given is absolute, below a parent that is a real directory, and free (whatever was
 * there has been removed). A writer may finish writes in the background (to overlap the disk
 * with parsing and hashing); {@link drain} waits for them, and the extractor calls it before it
 * looks at a path a background write may still be writing.
 */
export interface EntryWriter {
  /** What is at `path` now (lstat: a symlink is not followed). */
  lookup(path: string): Promise<PathKind | undefined>;
  /** Creates a missing directory on the way to an entry (0755, as moby does). */
  parentDirectory(path: string): Promise<void>;
  /** Removes whatever is at `path`, recursively. */
  remove(path: string): Promise<void>;
  /** A directory entry (created unless `exists`), with its owner, mode and xattrs; times come last, in {@link directoryTimes}. */
  directory(path: string, header: TarHeader, exists: boolean): Promise<void>;
  /** A regular file with its content and metadata; returns the content's length. May land later. */
  file(path: string, header: TarHeader, body: TarBody): Promise<number>;
  /** A symlink (to any target) with its owner, xattrs and times. */
  symlink(path: string, header: TarHeader): Promise<void>;
  /** A hardlink to `target` (already checked by the policy), then the entry's metadata on the shared inode. */
  hardlink(path: string, target: string, targetKind: PathKind, header: TarHeader): Promise<void>;
  /** A character or block device, or a fifo, with its metadata. */
  special(path: string, header: TarHeader): Promise<void>;
  /** A directory's times, applied after everything below it was written. */
  directoryTimes(path: string, header: TarHeader): Promise<void>;
  /** Waits for every background write; throws the first failure among them. */
  drain(): Promise<void>;
  /** Waits for every background write, ignoring failures (on the way out of an error). */
  settle(): Promise<void>;
  /** `path: name` of xattrs the filesystem refused with ENOTSUP or EPERM (ignored, as dockerd does). */
  readonly ignoredXattrs: readonly string[];
}
