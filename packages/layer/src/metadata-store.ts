import type { Digest } from "@store/digest";

/** What layerdb records of one read-only layer (`sha256/<chainID>/…`). */
export interface LayerRecord {
  diffId: Digest;
  /** Bytes of the layer's own files (layerdb `size`). */
  size: number;
  /** The graph driver's id of the layer's files (layerdb `cache-id`). */
  cacheId: string;
  /** Chain ID of the parent layer, if any. */
  parent?: Digest;
}

/** What layerdb records of one read-write layer (`mounts/<name>/…`). */
export interface MountRecord {
  mountId: string;
  initId?: string;
  parent?: Digest;
}

/**
 * Where a layer store keeps its metadata (moby layer.MetadataStore, reduced to whole units):
 * dockerd's layerdb on disk, or memory for tests. Each `put` is one atomic unit — after a crash
 * a layer is either wholly recorded or not at all.
 */
export interface LayerMetadataStore {
  /** Chain IDs of every committed layer and names of every mount. */
  list(): Promise<{ layers: Digest[]; mounts: string[] }>;
  get(chainId: Digest): Promise<LayerRecord | undefined>;
  /** The layer's tar-split.json.gz bytes. */
  getTarSplit(chainId: Digest): Promise<Uint8Array>;
  /** Records a layer and its tar-split (gzip) as one unit; replaces nothing (chain IDs are unique). */
  put(chainId: Digest, record: LayerRecord, tarSplitGz: Uint8Array): Promise<void>;
  remove(chainId: Digest): Promise<void>;
  getMount(name: string): Promise<MountRecord | undefined>;
  putMount(name: string, record: MountRecord): Promise<void>;
  removeMount(name: string): Promise<void>;
  /**
   * Removes leftovers of interrupted writes and removals (run once at open). Only stale ones:
   * another process (dockerd, a second `store`) may be writing into the same root.
   */
  cleanup(): Promise<void>;
}
