import type { BackendCapabilities } from "./store-backend";

/**
 * The few primitives a storage engine implements; {@link createBackend} derives the whole
 * StoreBackend (verification, key checks, walking, metadata rules) from them, once for all.
 *
 * Keys are `/`-separated relative paths (`content/sha256/<hex>`, `metadata/sha256/<hex>/parent`)
 * that the backend has already validated; a driver maps them onto its medium (files, objects…).
 */
export interface BackendDriver {
  /** A short name for messages ("fs", "memory", "s3"). */
  readonly name: string;
  readonly capabilities?: Partial<BackendCapabilities>;

  /** The whole object at `key`, or undefined when there is none. */
  read(key: string): Promise<Uint8Array | undefined>;
  /** The object at `key` as a stream, or undefined when there is none. */
  readStream(key: string): Promise<AsyncIterable<Uint8Array> | undefined>;
  exists(key: string): Promise<boolean>;
  /** Publishes `data` at `key` atomically: readers see the old object or the new, never a part. */
  write(key: string, data: Uint8Array): Promise<void>;
  /**
   * Copies `source` into a staging area without publishing it. If `source` throws (a digest
   * mismatch found at its end, say), stage must remove what it staged and rethrow.
   * `hint.key` is where the caller expects to commit, when it knows in advance.
   */
  stage(source: AsyncIterable<Uint8Array>, hint?: StageHint): Promise<StagedWrite>;
  /** Removes the object at `key`; a missing object is not an error. */
  remove(key: string): Promise<void>;
  /** Removes every object under `prefix/`; none is not an error. */
  removePrefix(prefix: string): Promise<void>;
  /** The names of the immediate children of `prefix/` (objects or deeper prefixes), any order. */
  list(prefix: string): AsyncIterable<string>;
  /**
   * Optional: what {@link list} gives, all at once, for a driver that has it at once (a directory
   * listing). Iterating 10,000 names one promise at a time costs more than reading them.
   */
  listAll?(prefix: string): Promise<string[]>;
  /** Releases resources (connections, handles). */
  close?(): Promise<void>;
}

export interface StageHint {
  key?: string;
  size?: number;
}

/** Content staged by {@link BackendDriver.stage}, waiting to be published or dropped. */
export interface StagedWrite {
  /** Publishes the staged content at `key` atomically (replacing what is there). */
  commit(key: string): Promise<void>;
  /** Drops the staged content. Safe to call after a failed commit. */
  abort(): Promise<void>;
}
