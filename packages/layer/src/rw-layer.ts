import type { Change, CreateOptions, GraphDriver } from "@store/graphdriver";
import type { Layer } from "./layer";

export interface CreateRWLayerOptions extends CreateOptions {
  /** Prepares the init layer (dockerd writes /etc/hosts and friends there) before the mount layer goes on top. */
  init?: (path: string) => Promise<void>;
}

/** A read-write (container) layer (moby layer.RWLayer). */
export interface RWLayer {
  readonly name: string;
  /** The graph driver id of the writable layer (layerdb `mount-id`). */
  readonly mountId: string;
  readonly initId: string | undefined;
  readonly parent: Layer | undefined;
  /** Mounts the layer (refcounted) and returns the merged view's path. */
  mount(): Promise<string>;
  unmount(): Promise<void>;
  /** What the container changed, relative to the image. */
  changes(): Promise<Change[]>;
  /** Bytes the container wrote. */
  size(): Promise<number>;
  /** A tar of what the container changed (as `docker commit`/`docker export` of the diff). */
  tarStream(): AsyncIterable<Uint8Array>;
  metadata(): Promise<Record<string, string>>;
}

export function createRWLayerHandle(
  driver: GraphDriver,
  m: { name: string; mountId: string; initId?: string; parent?: { record: { cacheId: string } } },
  parent: Layer | undefined,
): RWLayer {
  const below = m.initId ?? m.parent?.record.cacheId;
  return {
    name: m.name,
    mountId: m.mountId,
    initId: m.initId,
    parent,
    mount: () => driver.get(m.mountId),
    unmount: () => driver.put(m.mountId),
    changes: () => driver.changes(m.mountId, below),
    size: () => driver.diffSize(m.mountId, below),
    tarStream: () => driver.diff(m.mountId, below),
    metadata: () => driver.metadata(m.mountId),
  };
}
