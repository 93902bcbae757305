import type { Layer } from "@store/layer";
import { writeEntries } from "./archive-entries";
import type { ArchiveStores } from "./archive-stores";
import { type LayerTar, prepareLayerTar } from "./save-layer-tar";
import { dockerArchiveEntries } from "./save-docker";
import { ociLayoutEntries } from "./save-oci";
import { resolveSaveSet } from "./save-set";

export interface SaveOptions {
  /**
   * `docker` (default): the classic docker-archive dockerd 20.10 writes, which every `docker load`
   * reads. `oci`: an OCI image layout with uncompressed layers.
   */
  format?: "docker" | "oci";
}

/**
 * `docker save`: the named images (IDs, short IDs, tags, digest references, or a repository
 * name for all its tags) as a tar stream. Names are resolved and every image's layers held
 * before the first byte; layers are rebuilt from tar-split and the driver's files as they are
 * written, verified against their diff IDs, never staged in temp files. Nothing in the output
 * depends on the time or on temp state: the same images give the same bytes on every run.
 */
export async function* saveArchive(names: readonly string[], stores: ArchiveStores, options: SaveOptions = {}): AsyncGenerator<Uint8Array> {
  const set = await resolveSaveSet(names, stores);
  try {
    const prepared = new Map<string, Promise<LayerTar>>();
    const layerTar = (layer: Layer) => {
      let tar = prepared.get(layer.chainId.toString());
      if (!tar) prepared.set(layer.chainId.toString(), (tar = prepareLayerTar(layer)));
      return tar;
    };
    const entries = options.format === "oci" ? await ociLayoutEntries(set, layerTar) : await dockerArchiveEntries(set, stores.images, layerTar);
    yield* writeEntries(entries);
  } finally {
    for (const img of set) await stores.layers.release(img.top).catch(() => undefined);
  }
}
