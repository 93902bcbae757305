import type { LayerStore } from "@store/layer";
import type { ImageStore, ReferenceStore } from "@store/image";

/**
 * The stores an archive is loaded into or saved from: dockerd's image store (imagedb), layer
 * store (layerdb + graph driver) and reference store (repositories.json).
 */
export interface ArchiveStores {
  images: ImageStore;
  layers: LayerStore;
  references: ReferenceStore;
}
