import type { LayerStore } from "@store/layer";
import type { ImageStore } from "@store/image";
import type { ReferenceStore } from "@store/reference";

/**
 * The stores an archive is loaded into or saved from: dockerd's image store (imagedb), layer
 * store (layerdb + graph driver) and reference store (repositories.json).
 */
export interface ArchiveStores {
  images: ImageStore;
  layers: LayerStore;
  references: ReferenceStore;
}
