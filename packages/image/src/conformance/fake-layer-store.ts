import { type Digest, chainIds, digestFromString } from "@store/digest";
import { type Layer, LayerError, LayerErrorCode, type LayerGetReleaser, type LayerMetadata } from "@store/layer";

interface Entry {
  chainId: Digest;
  diffId: Digest;
  parent: Entry | undefined;
  diffSize: number;
  refs: number;
  childCount: number;
}

/**
 * A layer store reduced to what the image store uses: chain IDs, sizes and reference counts
 * with moby's release cascade (the last release removes a layer and releases its parent). The
 * image suites run on it by default: it costs nothing, needs no root, and what they test is the
 * backend under the image store, not the layer store.
 */
export class FakeLayerStore implements LayerGetReleaser {
  readonly entries = new Map<string, Entry>();
  gets = 0;
  releases = 0;

  /**
   * Registers a stack of layers by diff ID and returns the top chain ID. They hold no handle:
   * they stay until a handle taken later is released for the last time.
   */
  add(diffIds: readonly Digest[], sizes: readonly number[] = diffIds.map(() => 100)): Digest {
    const chains = chainIds(diffIds);
    let parent: Entry | undefined;
    chains.forEach((chainId, i) => {
      let e = this.entries.get(chainId.toString());
      if (!e) {
        e = { chainId, diffId: diffIds[i]!, parent, diffSize: sizes[i] ?? 100, refs: 0, childCount: 0 };
        if (parent) parent.childCount++;
        this.entries.set(chainId.toString(), e);
      }
      parent = e;
    });
    return chains[chains.length - 1]!;
  }

  /** Removes a layer no handle and no child holds, as if deleted behind the image store's back. */
  remove(chainId: Digest): void {
    const e = this.entries.get(chainId.toString());
    if (!e) return;
    if (e.refs > 0 || e.childCount > 0) throw new Error(`fake layer store: ${chainId} is still held`);
    this.entries.delete(chainId.toString());
    if (e.parent) e.parent.childCount--;
  }

  /** How many handles are out on a layer. */
  refs(chainId: Digest): number {
    return this.entries.get(chainId.toString())?.refs ?? 0;
  }

  has(chainId: Digest): boolean {
    return this.entries.has(chainId.toString());
  }

  async get(chainId: Digest): Promise<Layer> {
    const e = this.entries.get(chainId.toString());
    if (!e) throw new LayerError(LayerErrorCode.NotFound, `layer ${chainId}: layer does not exist`, { details: { chainId: chainId.toString() } });
    e.refs++;
    this.gets++;
    return this.#handle(e);
  }

  async release(layer: Layer): Promise<LayerMetadata[]> {
    this.releases++;
    const removed: LayerMetadata[] = [];
    let e = this.entries.get(layer.chainId.toString());
    if (!e || e.refs === 0) throw new LayerError(LayerErrorCode.NotRetained, `layer ${layer.chainId} not retained`);
    e.refs--;
    while (e && e.refs === 0 && e.childCount === 0) {
      this.entries.delete(e.chainId.toString());
      removed.push({ chainId: e.chainId, diffId: e.diffId, diffSize: e.diffSize, size: this.#size(e) });
      const parent: Entry | undefined = e.parent;
      if (parent) parent.childCount--;
      e = parent;
    }
    return removed;
  }

  #size(e: Entry): number {
    let size = 0;
    for (let p: Entry | undefined = e; p; p = p.parent) size += p.diffSize;
    return size;
  }

  #handle(e: Entry): Layer {
    const size = this.#size(e);
    const parent = e.parent ? this.#handle(e.parent) : undefined;
    return {
      chainId: e.chainId,
      diffId: e.diffId,
      parent,
      diffSize: e.diffSize,
      size,
      cacheId: digestFromString(`cache ${e.chainId}`).encoded,
      async *tarStream() {},
      tarSize: async () => 0,
      openTar: async () => ({ size: 0, async *stream() {} }),
      async metadata() {
        return { UpperDir: `/var/lib/docker/overlay2/${e.chainId.encoded}/diff` };
      },
    };
  }
}
