import { type Digest, digestFromString } from "@store/digest";
import { FakeLayerStore } from "./fake-layer-store";
import { type LayerSide, countingLayers } from "./layer-side";

/** The diff ID a layer name stands for on the fake side. */
export const fakeDiffId = (name: string): Digest => digestFromString(`conformance layer ${name}`);

/**
 * The default layer side: a {@link FakeLayerStore}. A reopen makes a new fake holding the same
 * stacks, as a real layer store reloads its layerdb.
 */
export async function fakeLayerSide(): Promise<LayerSide> {
  const stacks: Digest[][] = [];
  const removed = new Set<string>();
  let fake = new FakeLayerStore();
  let layers = countingLayers(fake);
  return {
    get layers() {
      return layers;
    },
    async stack(names) {
      const diffIds = names.map(fakeDiffId);
      stacks.push(diffIds);
      fake.add(diffIds);
      return diffIds;
    },
    async has(id) {
      return fake.has(id);
    },
    async reopen({ without = [] } = {}) {
      for (const id of without) removed.add(id.toString());
      fake = new FakeLayerStore();
      for (const diffIds of stacks) fake.add(diffIds);
      // Top first, so a removed stack's parents are free by the time they come up.
      const gone = [...fake.entries.values()].filter((e) => removed.has(e.chainId.toString())).reverse();
      for (const e of gone) fake.remove(e.chainId);
      layers = countingLayers(fake);
    },
    async dispose() {},
  };
}
