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
  return { size: await layer.tarSize(), open: () => verifiedTar(layer) };
}

async function* verifiedTar(layer: Layer): AsyncGenerator<Uint8Array> {
  try {
    yield* layer.tarStream();
  } catch (e) {
    if (!isStoreError(e, LayerErrorCode.VerificationFailed)) throw e;
    throw new ArchiveError(ArchiveErrorCode.LayerMismatch, `layer ${layer.chainId}: ${e.message}`, {
      cause: e,
      details: { chainId: layer.chainId.toString(), diffId: layer.diffId.toString() },
    });
  }
}
