import type { Algorithm, ByteSource, Digest } from "@store/digest";
import type { BackendDriver } from "./driver";

/** What a backend can do beyond the contract's baseline; conformance tests are gated on it. */
export interface BackendCapabilities {
  /** Content and metadata survive close() and reopening on the same location. */
  persistent: boolean;
  /** Several hosts or processes may share one store at once. */
  shared: boolean;
  /** Creating content that exists already is refused by the medium itself (If-None-Match). */
  conditionalCreate: boolean;
}

/**
 * dockerd's image-store backend (moby image/fs.go StoreBackend): content named by the digest of
 * its bytes, plus small metadata files per content. Every read is verified against the name.
 * Streams serve content too large to hold in memory; the bytes API serves small configs.
 */
export interface StoreBackend {
  readonly name: string;
  readonly capabilities: BackendCapabilities;
  /** Raw access to the primitives underneath, for tools and tests (no verification there). */
  readonly driver: BackendDriver;

  /**
   * Calls `fn` with every content digest, sorted by algorithm then hex. Names that are not
   * digests (temp files, strays) are skipped. If `fn` throws, the walk stops and rethrows.
   */
  walk(fn: (id: Digest) => void | Promise<void>): Promise<void>;
  /** The content's bytes, verified; ERR_BACKEND_NOT_FOUND or ERR_BACKEND_VERIFICATION_FAILED. */
  get(id: Digest): Promise<Uint8Array>;
  /** Stores `data` under its digest (idempotent) and returns it. Empty data is refused. */
  set(data: Uint8Array, algorithm?: Algorithm): Promise<Digest>;
  /** Removes the content's metadata, then the content. Missing content is not an error. */
  delete(id: Digest): Promise<void>;
  /** Whether content exists (not verified). */
  has(id: Digest): Promise<boolean>;

  /** Sets metadata `key` of existing content (ERR_BACKEND_NOT_FOUND when the content is missing). */
  setMetadata(id: Digest, key: string, data: Uint8Array): Promise<void>;
  /** Metadata `key` of existing content; ERR_BACKEND_NOT_FOUND when either is missing. */
  getMetadata(id: Digest, key: string): Promise<Uint8Array>;
  /** Removes metadata `key`; a missing key is not an error. */
  deleteMetadata(id: Digest, key: string): Promise<void>;

  /**
   * The content as a stream, verified as it flows: a mismatch is thrown after the last chunk,
   * so a consumer that acts only on a clean end never acts on bad content.
   */
  getStream(id: Digest): Promise<AsyncIterable<Uint8Array>>;
  /**
   * Streams content in without holding it whole; publishes it only once its digest (and size,
   * when given) check out. With `expected`, a mismatch is refused (ERR_BACKEND_CONTENT_MISMATCH)
   * and nothing is stored. Returns the digest.
   */
  setStream(source: ByteSource, options?: SetStreamOptions): Promise<Digest>;

  /** Releases the driver's resources. */
  close(): Promise<void>;
}

export interface SetStreamOptions {
  /** The digest the content must have. */
  expected?: Digest;
  /** The size the content must have. */
  size?: number;
  /** The algorithm to name it by when `expected` is not given (sha256 by default). */
  algorithm?: Algorithm;
}
