import { isStoreError } from "@store/errors";
import { type Layer, LayerErrorCode } from "@store/layer";
import { ArchiveError, ArchiveErrorCode } from "./errors";

/** A layer's tar for an archive: its size (known before any byte) and a way to stream it. */
export interface LayerTar {
  size: number;
  open(): AsyncIterable<Uint8Array>;
}

/**
 * A layer's tar as the layer store rebuilds it (verified against the diff ID as it streams),
 * with its size up front: a tar entry's header must state the size before the content.
 */
export async function prepareLayerTar(layer: Layer): Promise<LayerTar> {
  const tar = await layer.openTar();
  return { size: tar.size, open: () => verifiedTar(layer, tar.stream()) };
}

async function* verifiedTar(layer: Layer, stream: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    yield* stream;
  } catch (e) {
    if (!isStoreError(e, LayerErrorCode.VerificationFailed)) throw e;
    throw new ArchiveError(ArchiveErrorCode.LayerMismatch, `layer ${layer.chainId}: ${e.message}`, {
      cause: e,
      details: { chainId: layer.chainId.toString(), diffId: layer.diffId.toString() },
    });
  }
}
