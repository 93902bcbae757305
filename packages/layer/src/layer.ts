import type { Digest, DigestLike } from "@store/digest";

/**
 * A read-only layer: a handle on one entry of the layer store (moby layer.Layer). Handles are
 * reference counted by the store: every `get`/`register` gives one, `release` gives it back.
 */
export interface Layer {
  /** The chain ID: the identity of this layer stacked on its parents. */
  readonly chainId: Digest;
  /** The digest of this layer's uncompressed tar. */
  readonly diffId: Digest;
  /** The layer below, if any. */
  readonly parent: Layer | undefined;
  /** Bytes this layer's own files take (dockerd's layerdb `size`). */
  readonly diffSize: number;
  /** Bytes of the whole chain: this layer and every parent. */
  readonly size: number;
  /** The graph driver's id of this layer's files (layerdb `cache-id`). */
  readonly cacheId: string;
  /** The original tar, rebuilt from tar-split and the driver's files, verified against diffId. */
  tarStream(): AsyncIterable<Uint8Array>;
  /** The length in bytes of {@link tarStream}'s tar (from tar-split, before any byte is read). */
  tarSize(): Promise<number>;
  /**
   * The tar's size and its stream from one read of the tar-split (which `tarSize()` then
   * `tarStream()` would decode twice: for a many-file layer, a tenth of a save). The decoded
   * record is held until `stream()` starts; a second `stream()` reads it again.
   */
  openTar(): Promise<{ size: number; stream(): AsyncIterable<Uint8Array> }>;
  /** The graph driver's metadata (overlay2: LowerDir, UpperDir, WorkDir, MergedDir). */
  metadata(): Promise<Record<string, string>>;
}

/** What {@link LayerGetReleaser.release} reports of each layer it removed, top first. */
export interface LayerMetadata {
  chainId: Digest;
  diffId: Digest;
  diffSize: number;
  size: number;
}

/** The part of a layer store that an image store needs (moby layer.LayerGetReleaser). */
export interface LayerGetReleaser {
  /** A new handle on an existing layer; ERR_LAYER_NOT_FOUND when there is none. */
  get(chainId: DigestLike): Promise<Layer>;
  /** Gives a handle back; when no handle and no child holds a layer, it is removed (cascading). */
  release(layer: Layer): Promise<LayerMetadata[]>;
}
