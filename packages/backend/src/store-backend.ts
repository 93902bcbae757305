import type { Algorithm, ByteSource, Digest, DigestLike } from "@store/digest";

/** What a backend can do beyond the contract's baseline; conformance cases are gated on it. */
export interface BackendCapabilities {
  /** Content and metadata survive close() and reopening on the same location. */
  persistent: boolean;
  /**
   * Several backends (processes, hosts) may open one location at once: each sees what another
   * publishes, and racing writers of one digest store it once, with no coordination but the
   * medium's. Gates the suite's "shared" cases.
   */
  shared: boolean;
  /**
   * The medium itself refuses a create-only write of a key that exists (a hard link on a
   * filesystem, `If-None-Match: *` on S3), so of racing create-only writers exactly one reports
   * it created. Without it a driver looks before it writes, which is just as correct for content
   * (the same bytes) but may report two creators. Gates the suite's "create-only" cases.
   */
  conditionalCreate: boolean;
}

/** What {@link StoreBackend.info} knows of content without reading it. */
export interface ContentInfo {
  digest: Digest;
  /** Bytes, as stored (not verified). */
  size: number;
  /**
   * When the content was stored, as the medium records it (a file's mtime, an object's
   * Last-Modified), where it knows: what a garbage collector's grace period is measured against.
   */
  modifiedAt?: Date;
}

/** Narrows a walk; every field is optional and they combine. */
export interface WalkFilter {
  /** Only content named with this algorithm. */
  algorithm?: Algorithm;
  /**
   * Only content whose encoded (hex) part starts with this: a short ID. Lowercase hex;
   * anything else is refused with ERR_BACKEND_INVALID_FILTER.
   */
  encodedPrefix?: string;
}

/**
 * Content named by the digest of its bytes — every immutable blob: image configs, compressed
 * layer blobs, manifests and indexes — plus small mutable metadata per content (dockerd's
 * imagedb: moby image/fs.go StoreBackend). Every read is verified against the name. Streams
 * serve content too large to hold in memory (layer blobs of hundreds of MB); the bytes API
 * serves small configs and manifests.
 *
 * Every method that takes a digest accepts a {@link DigestLike} (a Digest or its text); a
 * malformed text is refused with ERR_DIGEST_INVALID_FORMAT naming it.
 */
export interface StoreBackend {
  readonly name: string;
  readonly capabilities: BackendCapabilities;

  /**
   * Calls `fn` with every content digest (or those `filter` selects), sorted by algorithm then
   * hex. Names that are not digests (temp files, strays) are skipped. If `fn` throws, the walk
   * stops and rethrows.
   */
  walk(fn: (id: Digest) => void | Promise<void>, filter?: WalkFilter): Promise<void>;
  /** The content's bytes, verified; ERR_BACKEND_NOT_FOUND or ERR_BACKEND_VERIFICATION_FAILED. */
  get(id: DigestLike): Promise<Uint8Array>;
  /** Stores `data` under its digest (idempotent) and returns it. Empty data is refused. */
  set(data: Uint8Array, algorithm?: Algorithm): Promise<Digest>;
  /** Removes the content's metadata, then the content. Missing content is not an error. */
  delete(id: DigestLike): Promise<void>;
  /** Whether content exists (not verified). */
  has(id: DigestLike): Promise<boolean>;
  /** The content's size, without reading or verifying it; undefined when there is none. */
  info(id: DigestLike): Promise<ContentInfo | undefined>;

  /** Sets metadata `key` of existing content (ERR_BACKEND_NOT_FOUND when the content is missing). */
  setMetadata(id: DigestLike, key: string, data: Uint8Array): Promise<void>;
  /** Metadata `key` of existing content; ERR_BACKEND_NOT_FOUND when either is missing. */
  getMetadata(id: DigestLike, key: string): Promise<Uint8Array>;
  /** Removes metadata `key`; a missing key is not an error. */
  deleteMetadata(id: DigestLike, key: string): Promise<void>;
  /**
   * Calls `fn(id, value)` with metadata `key` of every content that has it (or of those `filter`
   * selects), sorted as {@link walk} sorts: the bulk read an image store's restore needs. One
   * listing per algorithm says which contents have metadata at all, then their values are read
   * with reads overlapping. The content itself is neither checked nor verified: metadata left
   * behind by content deleted outside the backend is handed out too (match it against walk).
   */
  walkMetadata(key: string, fn: (id: Digest, value: Uint8Array) => void | Promise<void>, filter?: WalkFilter): Promise<void>;

  /**
   * The content as a stream, verified as it flows: a mismatch is thrown after the last chunk,
   * so a consumer that acts only on a clean end never acts on bad content.
   */
  getStream(id: DigestLike): Promise<AsyncIterable<Uint8Array>>;
  /**
   * Streams content in without holding it whole; publishes it only once its digest (and size,
   * when given) check out. With `expected`, a mismatch is refused (ERR_BACKEND_CONTENT_MISMATCH)
   * and nothing is stored. Returns the digest.
   */
  setStream(source: ByteSource, options?: SetStreamOptions): Promise<Digest>;
  /**
   * Stores the local file at `path` as the content `options.expected`. With `verified` — the
   * caller hashed exactly these bytes as it wrote them (a download checked against its digest) —
   * a driver that can take the file as it is does so (fs: a hard link, no copy); otherwise the
   * file is streamed in and checked as by {@link setStream}. The file itself is left in place.
   */
  setFile(path: string, options: SetFileOptions): Promise<Digest>;

  /** Releases the driver's resources. */
  close(): Promise<void>;
}

export interface SetFileOptions extends SetStreamOptions {
  expected: DigestLike;
  /** The caller verified the file's bytes against `expected` as it wrote them. */
  verified?: boolean;
}

export interface SetStreamOptions {
  /** The digest the content must have. */
  expected?: DigestLike;
  /** The size the content must have. */
  size?: number;
  /** The algorithm to name it by when `expected` is not given (sha256 by default). */
  algorithm?: Algorithm;
}
