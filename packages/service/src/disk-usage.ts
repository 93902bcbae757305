import type { Digest } from "@store/digest";
import type { ImageService, ImageSummary } from "@store/image";
import type { Layer, LayerStore } from "@store/layer";
import { layerUsers } from "./layer-users";
import { type MountInfo, mountSize } from "./mounts";

/** One layer's share of the disk. */
export interface LayerUsage {
  chainId: Digest;
  diffId: Digest;
  /** Bytes of the layer's own files. */
  size: number;
  /** How many images stand on it. */
  images: number;
  /** Used by an image or a mount. */
  active: boolean;
}

/** One mount's share of the disk. */
export interface MountUsage extends MountInfo {
  /** Bytes written into it. */
  size: number;
}

/**
 * Disk usage as `docker system df` computes it (moby daemon/disk_usage.go): images share layers,
 * so their sizes overlap; what removing images frees is counted on layers.
 */
export interface DiskUsage {
  /** Every image, with SharedSize and Containers (mounts standing on it) filled in. */
  images: ImageSummary[];
  /** Images a mount stands on. */
  activeImages: number;
  /** Bytes of every layer's own files: what all images take together (docker's LayersSize). */
  layersSize: number;
  /** What removing every image no mount uses would free (docker's images RECLAIMABLE). */
  imagesReclaimable: number;
  layers: LayerUsage[];
  activeLayers: number;
  /** Bytes of the layers no image and no mount uses. */
  layersReclaimable: number;
  mounts: MountUsage[];
  mountsSize: number;
}

/** Computes the store's disk usage: one walk of the images, one of the layers, one size per mount. */
export async function diskUsage(service: ImageService, layers: LayerStore, mounts: readonly MountInfo[]): Promise<DiskUsage> {
  const images = service.list({ sharedSize: true, containerCount: true });
  const byChain = layers.map();
  const all = [...byChain.values()];
  const layersSize = all.reduce((n, l) => n + l.diffSize, 0);

  let used = 0;
  let activeImages = 0;
  for (const s of images) {
    if (s.Containers <= 0) continue;
    used += s.VirtualSize - s.SharedSize;
    activeImages++;
  }

  const users = layerUsers(service.images);
  const underMounts = new Set<string>();
  for (const m of mounts) {
    for (let l: Layer | undefined = m.parent ? byChain.get(m.parent.toString()) : undefined; l; l = l.parent) underMounts.add(l.chainId.toString());
  }
  let layersReclaimable = 0;
  let activeLayers = 0;
  const layerUsage = all.map((l): LayerUsage => {
    const key = l.chainId.toString();
    const count = users.get(key)?.length ?? 0;
    const active = count > 0 || underMounts.has(key);
    if (active) activeLayers++;
    else layersReclaimable += l.diffSize;
    return { chainId: l.chainId, diffId: l.diffId, size: l.diffSize, images: count, active };
  });

  const mountUsage: MountUsage[] = [];
  for (const m of mounts) mountUsage.push({ ...m, size: await mountSize(layers, m) });
  const mountsSize = mountUsage.reduce((n, m) => n + m.size, 0);

  return {
    images,
    activeImages,
    layersSize,
    imagesReclaimable: layersSize - used,
    layers: layerUsage,
    activeLayers,
    layersReclaimable,
    mounts: mountUsage,
    mountsSize,
  };
}
