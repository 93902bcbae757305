import type { Digest } from "@store/digest";
import type { Layer, LayerGetReleaser, LayerMetadata } from "@store/layer";

/**
 * A layer store as the image suites see it: handles taken through {@link CountingLayers} are
 * counted, so a case can check that an image holds exactly one handle on its top layer, whatever
 * layer store stands behind it.
 */
export interface CountingLayers extends LayerGetReleaser {
  /** Handles taken through this view so far. */
  readonly gets: number;
  /** Handles given back through this view so far. */
  readonly releases: number;
  /** Handles out on a layer through this view (taken minus given back). */
  refs(chainId: Digest): number;
}

/**
 * The layer side of an image case: a layer store the image store under test retains layers in.
 * The default is a fake (it tests the backend); a real `@store/layer` store over overlay2 fits
 * through {@link layerStoreSide}.
 */
export interface LayerSide {
  /** The layer store to hand an image store; a new one after each {@link reopen}. */
  readonly layers: CountingLayers;
  /**
   * Registers a stack of layers bottom first, one per name (a name always stands for the same
   * content, so the same diff ID), and returns their diff IDs. What was registered stays until
   * a handle taken through `layers` is released for the last time (or for good, in a real store).
   */
  stack(names: readonly string[]): Promise<Digest[]>;
  /** Whether the layer store holds a layer. */
  has(chainId: Digest): Promise<boolean>;
  /**
   * A restart: the layer store is opened again over the same layers, with no handle out. The
   * layers named in `without` are removed on the way, as if deleted while the image store was
   * closed (only layers without children; their parents stay).
   */
  reopen(options?: { without?: readonly Digest[] }): Promise<void>;
  /** Closes the layer store and removes what it created. */
  dispose(): Promise<void>;
}

/** Called once per case. */
export type LayerSideFactory = () => Promise<LayerSide>;

/** Counts handles taken and given back through `inner`. */
export function countingLayers(inner: LayerGetReleaser): CountingLayers {
  const refs = new Map<string, number>();
  let gets = 0;
  let releases = 0;
  return {
    get gets() {
      return gets;
    },
    get releases() {
      return releases;
    },
    refs: (chainId) => refs.get(chainId.toString()) ?? 0,
    async get(chainId): Promise<Layer> {
      const layer = await inner.get(chainId);
      gets++;
      refs.set(chainId.toString(), (refs.get(chainId.toString()) ?? 0) + 1);
      return layer;
    },
    async release(layer): Promise<LayerMetadata[]> {
      const removed = await inner.release(layer);
      releases++;
      refs.set(layer.chainId.toString(), (refs.get(layer.chainId.toString()) ?? 0) - 1);
      return removed;
    },
  };
}
