import type { BackendCapabilities } from "./store-backend";

/**
 * The few primitives a storage engine implements; {@link createBackend} derives the whole
 * StoreBackend (verification, key checks, walking, metadata rules) from them, once for all.
 *
 * Keys are `/`-separated relative paths (`content/sha256/<hex>`, `metadata/sha256/<hex>/parent`)
 * that the backend has already validated; a driver maps them onto its medium (files, objects…).
 * Intent is said, never guessed from a key: a write that must not replace what is there says
 * `{ ifAbsent: true }` (the backend says it for every content write: content is immutable).
 */
export interface BackendDriver {
  /** A short name for messages ("fs", "memory", "s3"). */
  readonly name: string;
  readonly capabilities?: Partial<BackendCapabilities>;

  /** The whole object at `key`, or undefined when there is none. */
  read(key: string): Promise<Uint8Array | undefined>;
  /** The object at `key` as a stream, or undefined when there is none. */
  readStream(key: string): Promise<AsyncIterable<Uint8Array> | undefined>;
  /** The object's size without reading it, or undefined when there is none. */
  stat(key: string): Promise<ObjectStat | undefined>;
  /**
   * Publishes `data` at `key` atomically: readers see the old object or the new, never a part.
   * With `ifAbsent`, an object already at `key` is left alone. Resolves to whether this call
   * created (or replaced) the object: false only when `ifAbsent` found one there.
   */
  write(key: string, data: Uint8Array, options?: WriteOptions): Promise<boolean>;
  /**
   * Copies `source` into a staging area without publishing it. If `source` throws (a digest
   * mismatch found at its end, say), stage must remove what it staged and rethrow.
   * `hint.key` is where the caller expects to commit, when it knows in advance.
   */
  stage(source: AsyncIterable<Uint8Array>, hint?: StageHint): Promise<StagedWrite>;
  /**
   * Optional: stages a local file the caller wrote (durably, as `stage` would), without copying
   * it where the medium allows (fs: a hard link beside the destination). Undefined when it cannot
   * (another filesystem): the caller streams the file through `stage` instead.
   */
  stageFile?(path: string, hint?: StageHint): Promise<StagedWrite | undefined>;
  /** Removes the object at `key`; a missing object is not an error. */
  remove(key: string): Promise<void>;
  /** Removes every object under `prefix/`; none is not an error. */
  removePrefix(prefix: string): Promise<void>;
  /**
   * The names of the immediate children of `prefix/` (objects or deeper prefixes), any order.
   * `options.startsWith` is a hint a medium that lists by prefix can use (S3); the backend
   * filters what it gets in any case, so a driver may ignore it.
   */
  list(prefix: string, options?: ListOptions): AsyncIterable<string>;
  /**
   * Optional: what {@link list} gives, all at once, for a driver that has it at once (a directory
   * listing). Iterating 10,000 names one promise at a time costs more than reading them.
   */
  listAll?(prefix: string, options?: ListOptions): Promise<string[]>;
  /** Releases resources (connections, handles). */
  close?(): Promise<void>;
}

/** What {@link BackendDriver.stat} knows of an object without reading it. */
export interface ObjectStat {
  /** Bytes. */
  size: number;
  /** When the object was last written, where the medium records it (see ContentInfo.modifiedAt). */
  modifiedAt?: Date;
}

/** How a write publishes. */
export interface WriteOptions {
  /**
   * Create only: when an object is already at the key, leave it and report false. Drivers
   * enforce it as well as the medium allows (a link or `If-None-Match: *` where there is one;
   * a look before the write where there is not, which for content is just as correct: what is
   * there is the same bytes).
   */
  ifAbsent?: boolean;
}

/** Narrows a listing. */
export interface ListOptions {
  /** Only names starting with this are wanted. */
  startsWith?: string;
}

export interface StageHint {
  key?: string;
  size?: number;
}

/** Content staged by {@link BackendDriver.stage}, waiting to be published or dropped. */
export interface StagedWrite {
  /**
   * Publishes the staged content at `key` atomically, with the same `ifAbsent` rule and result
   * as {@link BackendDriver.write}. When it did not create the object, the staged content is
   * dropped: nothing is left to abort.
   */
  commit(key: string, options?: WriteOptions): Promise<boolean>;
  /** Drops the staged content. Safe to call after a failed commit. */
  abort(): Promise<void>;
}
