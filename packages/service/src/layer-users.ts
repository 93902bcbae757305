import type { Digest } from "@store/digest";
import type { ImageStore } from "@store/image";
import type { Layer } from "@store/layer";

/**
 * Which images stand on each layer (chain ID → image IDs, in the image store's order): what a
 * layer's disk usage counts and what a damaged layer breaks. Computed in one walk of the records.
 */
export function layerUsers(images: ImageStore): Map<string, Digest[]> {
  const users = new Map<string, Digest[]>();
  for (const r of images.records()) {
    for (let l: Layer | undefined = r.layer; l; l = l.parent) {
      const key = l.chainId.toString();
      const list = users.get(key);
      if (list) list.push(r.id);
      else users.set(key, [r.id]);
    }
  }
  return users;
}
