/** One record: its bytes and the version that names this state of it. */
export interface MetadataRecord {
  /** The record's bytes, exactly as written. */
  readonly data: Uint8Array;
  /**
   * An opaque token naming this state of the record, to hand back to {@link MetadataStore.putIfVersion}
   * or `delete(key, { ifVersion })`. Compare versions only for equality, never parse them: the fs
   * driver uses the content's digest, S3 the object's ETag, memory a counter.
   */
  readonly version: string;
}

/** What a metadata store can promise; the conformance suite gates cases on it. */
export interface MetadataCapabilities {
  /**
   * Conditional writes (putIfAbsent, putIfVersion, delete with ifVersion) are enforced by the
   * medium itself, atomically, against every writer, in every process and on every host that
   * shares the store. When false, they are refused (ERR_METADATA_UNSUPPORTED) unless the store was
   * opened with `allowUnconditional`, and then they are only checked before writing (racy).
   */
  conditional: boolean;
  /** Records survive close() and reopening on the same location. */
  persistent: boolean;
  /** Several processes or hosts may open the same location at once. */
  shared: boolean;
}

/** Options of {@link MetadataStore.delete}. */
export interface DeleteOptions {
  /** Delete only if the record is at this version (ERR_METADATA_CONFLICT otherwise, or when it is gone). */
  ifVersion?: string;
}

/**
 * A store of small mutable records under `/`-separated keys, with versioned reads and
 * compare-and-swap writes: what tags (repositories.json), distribution metadata and per-host
 * leases need, where content (immutable, named by digest) lives in a StoreBackend instead.
 *
 * Writes are atomic: a reader sees a record whole, before or after a write, never a part.
 * Records hold at least one byte (ERR_METADATA_EMPTY_DATA); keys are checked by
 * `assertMetadataKey` (ERR_METADATA_INVALID_KEY).
 */
export interface MetadataStore {
  /** A short name for messages ("fs", "memory", "s3"). */
  readonly name: string;
  readonly capabilities: MetadataCapabilities;

  /** The record at `key` with its version, or undefined when there is none. */
  get(key: string): Promise<MetadataRecord | undefined>;
  /** Creates the record; ERR_METADATA_CONFLICT (kind conflict) when one exists. Returns its version. */
  putIfAbsent(key: string, data: Uint8Array): Promise<string>;
  /**
   * Replaces the record if it is still at `version`; ERR_METADATA_CONFLICT when its version
   * differs or it is gone. Returns the new version.
   */
  putIfVersion(key: string, data: Uint8Array, version: string): Promise<string>;
  /** Removes the record (with `ifVersion`, only at that version). A missing record without `ifVersion` is not an error. */
  delete(key: string, options?: DeleteOptions): Promise<void>;
  /** Every key below `prefix/` ("" for all), recursively, sorted. */
  list(prefix: string): Promise<string[]>;
  /** Releases the driver's resources; afterwards every call fails with ERR_METADATA_CLOSED. Idempotent. */
  close(): Promise<void>;
}
