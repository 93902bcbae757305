import type { Digest } from "@store/digest";
import type { Layer, LayerStore } from "@store/layer";
import { type LayerSide, type LayerSideFactory, countingLayers } from "./layer-side";
import { tinyTar } from "./tiny-tar";

/** Where a real layer store lives for one case: a fresh root, and how to open a store on it. */
export interface LayerStoreLocation {
  /** Opens a layer store over the location (again after a reopen). */
  open(): Promise<LayerStore>;
  /** Removes the location. */
  cleanup(): Promise<void>;
}

/**
 * The layer side over a real `@store/layer` store: each name registers a one-file tar, so diff
 * IDs are real tar digests and layers land in the graph driver. Registration handles are kept
 * (a layer store deletes a layer when its last handle goes), and dropped with the store at a
 * reopen, after which the layers stay with no handle out, as after a daemon restart.
 *
 * ```ts
 * imageConformance("fs", fsFactory, { layers: layerStoreSide(async () => {
 *   const root = await mkdtemp(…);
 *   return { open: async () => createLayerStore({ root, driver: await createOverlay2Driver({ home: join(root, "overlay2") }) }), cleanup: () => rm(root, …) };
 * }) });
 * ```
 */
export function layerStoreSide(location: () => Promise<LayerStoreLocation>): LayerSideFactory {
  return async () => {
    const where = await location();
    let store = await where.open();
    let layers = countingLayers(store);
    const registered: Layer[] = [];
    return {
      get layers() {
        return layers;
      },
      async stack(names) {
        let parent: Digest | undefined;
        const diffIds: Digest[] = [];
        for (const name of names) {
          const { layer } = await store.register([tinyTar(`layer-${name}`, `conformance layer ${name}\n`)], parent);
          registered.push(layer);
          diffIds.push(layer.diffId);
          parent = layer.chainId;
        }
        return diffIds;
      },
      async has(id) {
        return store.map().has(id.toString());
      },
      async reopen({ without = [] } = {}) {
        // Closing forgets the handles out (registrations, the image store's) without releasing.
        await store.close();
        registered.length = 0;
        store = await where.open();
        if (without.length > 0) {
          // The one handle taken here is the last: releasing it deletes the layer from disk. The
          // others are held meanwhile (the release cascades to parents no one holds), and the
          // store opened once more so that no handle is out.
          const gone = new Set(without.map(String));
          for (const id of store.map().keys()) if (!gone.has(id)) await store.get(store.map().get(id)!.chainId);
          for (const id of without) await store.release(await store.get(id));
          await store.close();
          store = await where.open();
        }
        layers = countingLayers(store);
      },
      async dispose() {
        try {
          await store.close();
        } finally {
          await where.cleanup();
        }
      },
    } satisfies LayerSide;
  };
}
