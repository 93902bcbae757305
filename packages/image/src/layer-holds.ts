import type { Digest } from "@store/digest";
import type { Layer, LayerGetReleaser, LayerMetadata } from "@store/layer";

interface Hold {
  /** The one handle, or the get that will give it. */
  readonly layer: Promise<Layer>;
  /** Images standing on the layer. */
  images: number;
}

/**
 * The image store's handles on layers: one per layer that at least one of its images stands
 * on, counted per image. moby takes a handle per image; what the layer store does with them is
 * the same either way (a layer goes when its last holder lets go, and the last image's delete
 * is the one that lets go), but a store of 10,000 images on a few layers then takes a few
 * handles instead of 10,000: each is a trip through the layer store's lock and a handle object,
 * together about a quarter of the time of opening such a store from the record cache and half
 * the memory it kept per image.
 */
export class LayerHolds {
  readonly #layers: LayerGetReleaser;
  readonly #held = new Map<string, Hold>();

  constructor(layers: LayerGetReleaser) {
    this.#layers = layers;
  }

  /**
   * A handle on `chainId` for one more image; the layer store's error when it has no such layer.
   * Concurrent calls for one layer share one get.
   */
  async acquire(chainId: Digest): Promise<Layer> {
    const key = chainId.toString();
    let hold = this.#held.get(key);
    if (!hold) {
      hold = { layer: this.#layers.get(chainId), images: 0 };
      this.#held.set(key, hold);
    }
    hold.images++;
    try {
      return await hold.layer;
    } catch (e) {
      // Every waiter on a failed get gives up its count; the next acquire tries afresh.
      hold.images--;
      if (this.#held.get(key) === hold) this.#held.delete(key);
      throw e;
    }
  }

  /**
   * Acquires for `images` images at once (restore): one get, then the count. Resolves to the
   * handle; rejects as {@link acquire}, holding nothing.
   */
  async acquireMany(chainId: Digest, images: number): Promise<Layer> {
    const layer = await this.acquire(chainId);
    this.#held.get(chainId.toString())!.images += images - 1;
    return layer;
  }

  /**
   * Gives back one image's hold on `layer` (a handle this object gave out). The last image's
   * release releases the handle and returns what the layer store removed; others return [].
   */
  async release(layer: Layer): Promise<LayerMetadata[]> {
    const key = layer.chainId.toString();
    const hold = this.#held.get(key);
    if (!hold) return this.#layers.release(layer); // not ours: the layer store says so
    if (--hold.images > 0) return [];
    this.#held.delete(key);
    return this.#layers.release(layer);
  }
}
