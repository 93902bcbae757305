import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { Digest } from "@store/digest";
import { StoreError } from "@store/errors";
import type { ImageService } from "@store/image";
import { type LayerMetadataStore, type LayerStore, LayerErrorCode, assertMountName } from "@store/layer";
import { ServiceError, ServiceErrorCode } from "./errors";

/** A read-write layer made by `mount` (dockerd: a container's layer), as layerdb records it. */
export interface MountInfo {
  name: string;
  /** The graph driver's id of its files (layerdb `mount-id`). */
  mountId: string;
  /** The init layer below it, when it has one (dockerd's containers do). */
  initId?: string;
  /** Chain ID of the image layer it sits on. */
  parent: Digest | undefined;
}

/** A mount with the directory where its merged view appears. */
export interface MountedLayer extends MountInfo {
  merged: string;
}

/** Every mount layerdb records. */
export async function readMounts(metadata: LayerMetadataStore): Promise<MountInfo[]> {
  const mounts: MountInfo[] = [];
  for (const name of (await metadata.list()).mounts) {
    const m = await metadata.getMount(name);
    if (m) mounts.push({ name, mountId: m.mountId, ...(m.initId ? { initId: m.initId } : {}), parent: m.parent });
  }
  return mounts;
}

/** Where the mount's merged view is, as its driver says (overlay2: `<home>/<mount-id>/merged`). */
export async function mergedDir(layers: LayerStore, m: MountInfo): Promise<string> {
  const dir = await layers.driver.metadata(m.mountId).then(
    (md) => md.MergedDir,
    () => undefined,
  );
  return dir ?? join(layers.driver.home, m.mountId, "merged");
}

/**
 * The bytes a mount wrote, read from the driver without taking a handle on the read-write layer
 * (a handle would have to be given back, and giving it back removes the layer).
 */
export async function mountSize(layers: LayerStore, m: MountInfo): Promise<number> {
  const below = m.initId ?? (m.parent ? layers.map().get(m.parent.toString())?.cacheId : undefined);
  return layers.driver.diffSize(m.mountId, below).catch(() => 0);
}

/** Makes a read-write layer named `name` (default: a random ID) over the image's top layer and mounts it. */
export async function mountImage(layers: LayerStore, service: ImageService, image: string, name = randomBytes(32).toString("hex")): Promise<MountedLayer> {
  assertMountName(name); // before anything is resolved or created: ERR_LAYER_INVALID_NAME
  const record = service.images.record(service.resolve(image))!;
  const rw = await layers.createRWLayer(name, record.chainId);
  let merged: string;
  try {
    merged = await rw.mount();
  } catch (e) {
    await layers.releaseRWLayer(rw).catch(() => undefined);
    throw e;
  }
  return { name, mountId: rw.mountId, ...(rw.initId ? { initId: rw.initId } : {}), parent: record.chainId, merged };
}

/** The mount a name, a unique prefix of one, or its merged directory names. */
export async function findMount(layers: LayerStore, mounts: readonly MountInfo[], term: string): Promise<MountInfo> {
  const dir = term.replace(/\/+$/, "");
  for (const m of mounts) if (m.name === term || (await mergedDir(layers, m)) === dir) return m;
  const prefixed = mounts.filter((m) => m.name.startsWith(term));
  if (prefixed.length === 1) return prefixed[0]!;
  if (prefixed.length > 1) {
    throw new ServiceError(
      ServiceErrorCode.MountAmbiguous,
      `mount name prefix ${JSON.stringify(term)} is ambiguous: ${prefixed.map((m) => m.name).join(", ")}`,
      {
        details: { name: term },
      },
    );
  }
  throw new StoreError(LayerErrorCode.MountNotFound, `No such mount: ${term}`, { details: { name: term } });
}

/** Unmounts a mount and removes its read-write layer and everything written into it. */
export async function removeMount(layers: LayerStore, m: MountInfo): Promise<void> {
  const rw = await layers.getRWLayer(m.name);
  await rw.unmount();
  await layers.releaseRWLayer(rw);
}
