import type { TarEntry } from "@store/tar-split";

/** What a layer gained, lost or changed relative to its parent (moby's archive.Change). */
export type ChangeKind = "modify" | "add" | "delete";

export interface Change {
  /** Absolute-style path inside the layer, e.g. `/etc/passwd` (as moby reports it). */
  path: string;
  kind: ChangeKind;
}

/** Options for {@link GraphDriver.create} and {@link GraphDriver.createReadWrite}. */
export interface CreateOptions {
  /** SELinux mount label; accepted for parity with dockerd, not applied. */
  mountLabel?: string;
  /** Driver-specific per-layer options (dockerd's `--storage-opt`, e.g. `size`). */
  storageOpt?: Record<string, string>;
}

/** Options for {@link GraphDriver.get}. */
export interface GetOptions {
  /** SELinux mount label; accepted for parity with dockerd, not applied. */
  mountLabel?: string;
}

/**
 * A graph driver: where layers live on disk and how they are stacked into a root filesystem.
 * The contract of moby's `daemon/graphdriver.Driver` (ProtoDriver + DiffDriver), made async.
 *
 * Layer ids are opaque single path components chosen by the caller (dockerd uses 64 random hex
 * characters, the layer's `cache-id`). A `parent` is the id of the layer below.
 */
export interface GraphDriver {
  /** The driver's name, e.g. `overlay2`. */
  readonly name: string;
  /** The directory the driver owns (dockerd's `<data-root>/<name>`). */
  readonly home: string;

  /** Creates an empty read-only (image) layer on top of `parent`. */
  create(id: string, parent?: string, options?: CreateOptions): Promise<void>;
  /** Creates an empty read-write (container) layer on top of `parent`. */
  createReadWrite(id: string, parent?: string, options?: CreateOptions): Promise<void>;
  /** Removes a layer and everything in it. */
  remove(id: string): Promise<void>;
  /** Mounts the layer's view (refcounted) and returns the path of its root filesystem. */
  get(id: string, options?: GetOptions): Promise<string>;
  /** Releases one {@link get}; the last one unmounts. */
  put(id: string): Promise<void>;
  /** True when the layer exists. */
  exists(id: string): Promise<boolean>;
  /** Human-readable facts about the driver (dockerd's `docker info` "Storage Driver" block). */
  status(): Promise<Array<[string, string]>>;
  /** Driver-specific facts about one layer (for overlay2: LowerDir, UpperDir, WorkDir, MergedDir). */
  metadata(id: string): Promise<Record<string, string>>;
  /** Unmounts everything the driver mounted; call on shutdown. */
  cleanup(): Promise<void>;

  /** A tar (as written by `writeTar`) of what the layer changed relative to `parent`. */
  diff(id: string, parent?: string): AsyncIterable<Uint8Array>;
  /** The paths the layer changed relative to `parent`, in walk order. */
  changes(id: string, parent?: string): Promise<Change[]>;
  /**
   * Extracts a parsed layer tar into the (empty) layer `id` and returns the layer's size as
   * dockerd records it. On any error the layer is left as it was: empty.
   */
  applyDiff(id: string, parent: string | undefined, entries: AsyncIterable<TarEntry>): Promise<number>;
  /** The size of what the layer changed relative to `parent` (bytes, hardlinks counted once). */
  diffSize(id: string, parent?: string): Promise<number>;
  /**
   * Optional: stacks a read-only layer created without a parent (and never mounted) on
   * `parent` afterwards. Only drivers whose applied diff does not depend on the layers below
   * have it (overlay2 keeps each diff apart); with it, a loader can extract a layer as it
   * streams by and decide where it goes later, instead of spooling it to disk first.
   */
  setParent?(id: string, parent: string): Promise<void>;
  /**
   * Optional (moby's `DiffGetter`): a directory where each file of the layer's own diff can be
   * read by its tar name, without mounting (overlay2: the layer's `diff/`). Rebuilding a
   * layer's tar from tar-split reads its files from there; without it the layer is mounted
   * with {@link get} for the duration.
   */
  diffDir?(id: string): Promise<string>;
}
