import type { Digest } from "@store/digest";
import type { LayerMetadataStore } from "@store/layer";
import { readTarSplit } from "@store/tar-split";

/**
 * The byte length of a layer's tar, from its tar-split record alone (raw segments plus file
 * sizes): a tar entry's header must state the size before the layer is rebuilt into it, and
 * rebuilding twice, or spooling as dockerd does, would cost a pass over every file.
 */
export async function layerTarSize(metadata: LayerMetadataStore, chainId: Digest): Promise<number> {
  let size = 0;
  for await (const p of readTarSplit(await metadata.getTarSplit(chainId))) size += p.type === 2 ? p.payload.byteLength : p.size;
  return size;
}
