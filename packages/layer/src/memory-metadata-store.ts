import type { Digest } from "@store/digest";
import { LayerError, LayerErrorCode } from "./errors";
import type { LayerMetadataStore, LayerRecord, MountRecord } from "./metadata-store";

/** Layer metadata in memory: the same layer store, without a disk (tests, ephemeral stores). */
export function createMemoryLayerMetadataStore(): LayerMetadataStore {
  const layers = new Map<string, { chainId: Digest; record: LayerRecord; tarSplit: Uint8Array }>();
  const mounts = new Map<string, MountRecord>();
  return {
    async list() {
      return { layers: [...layers.values()].map((l) => l.chainId), mounts: [...mounts.keys()] };
    },
    async get(chainId) {
      const l = layers.get(chainId.toString());
      return l && { ...l.record };
    },
    async getTarSplit(chainId) {
      const l = layers.get(chainId.toString());
      if (!l) throw new LayerError(LayerErrorCode.NotFound, `layer ${chainId}: not found`, { details: { chainId: chainId.toString() } });
      return l.tarSplit;
    },
    async put(chainId, record, tarSplit) {
      layers.set(chainId.toString(), { chainId, record: { ...record }, tarSplit });
    },
    async remove(chainId) {
      layers.delete(chainId.toString());
    },
    async getMount(name) {
      const m = mounts.get(name);
      return m && { ...m };
    },
    async putMount(name, record) {
      mounts.set(name, { ...record });
    },
    async removeMount(name) {
      mounts.delete(name);
    },
    async cleanup() {},
  };
}
