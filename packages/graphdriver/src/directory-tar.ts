import { writeTar } from "@store/tar-split";
import { layerEntries, type ExportOptions } from "./layer-entries";

/**
 * The tar bytes of the layer directory `dir`: {@link layerEntries} through tar-split's
 * `writeTar` (Go's archive/tar format decisions), i.e. what dockerd's `Diff` streams.
 */
export function directoryTar(dir: string, options: ExportOptions = {}): AsyncGenerator<Uint8Array> {
  return writeTar(layerEntries(dir, options));
}
