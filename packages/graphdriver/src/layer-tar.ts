import * as tarSplit from "@store/tar-split";
import { StoreError } from "@store/errors";
import { GraphDriverErrorCodes } from "./error-codes";
import { layerEntries, type ExportOptions } from "./layer-entries";
import type { ExportEntry } from "./whiteout-hooks";

type WriteTar = (entries: AsyncIterable<ExportEntry>) => AsyncGenerator<Uint8Array>;

/** The tar bytes of the layer directory `dir`: {@link layerEntries} through tar-split's `writeTar`. */
export async function* layerTar(dir: string, options: ExportOptions = {}): AsyncGenerator<Uint8Array> {
  const writeTar = (tarSplit as unknown as { writeTar?: WriteTar }).writeTar;
  if (writeTar === undefined) {
    throw new StoreError(GraphDriverErrorCodes.unsupported, "@store/tar-split has no writeTar yet");
  }
  yield* writeTar(layerEntries(dir, options));
}
