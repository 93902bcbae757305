import { createReadStream } from "node:fs";
import { lstat, realpath } from "node:fs/promises";
import { dirname, join } from "node:path";
import { entryRelativePath, type GraphDriver } from "@store/graphdriver";
import { LayerError, LayerErrorCode } from "./errors";
import { LayerFileRefused, openLayerFile } from "./layer-file-open";

/**
 * Opens files of one layer's own content by their tar names, to rebuild its tar from tar-split.
 * A driver with `diffDir` (moby's DiffGetter; overlay2's `diff/`) serves them without a mount;
 * other drivers' layers are mounted for the duration.
 *
 * Reads never leave the layer: a diff dir (or the layer dir holding it) that is a symlink is
 * refused before anything is read — a damaged root could point it at any directory of the host
 * holding the same names — and every path is built on the diff dir's real path, so
 * {@link openLayerFile} can check that each opened file is the one named.
 */
export async function openDiffFiles(
  driver: GraphDriver,
  cacheId: string,
): Promise<{
  /** The path of a tar name's file; refuses a name that leads outside the layer. */
  path(name: string): string;
  open(name: string): AsyncIterable<Uint8Array>;
  close(): Promise<void>;
}> {
  const mounted = driver.diffDir === undefined;
  const given = mounted ? await driver.get(cacheId) : await driver.diffDir!(cacheId);
  let dir: string;
  try {
    if (!mounted) {
      for (const d of [given, dirname(given)]) {
        const stats = await lstat(d);
        if (!stats.isDirectory()) {
          throw new LayerError(
            LayerErrorCode.VerificationFailed,
            `could not verify layer data of ${cacheId}: ${JSON.stringify(d)} is ${stats.isSymbolicLink() ? "a symlink" : "not a directory"}; refusing to read through it`,
            { details: { cacheId, path: d } },
          );
        }
      }
    }
    dir = await realpath(given);
  } catch (e) {
    if (mounted) await driver.put(cacheId);
    if (e instanceof LayerError) throw e;
    throw new LayerError(LayerErrorCode.VerificationFailed, `could not verify layer data of ${cacheId}: ${(e as Error).message}`, {
      cause: e,
      details: { cacheId },
    });
  }
  const path = (name: string) => {
    // tar-split names come from a file on disk: never let one lead outside the layer.
    const rel = entryRelativePath(name);
    if (rel === undefined || rel === ".") {
      throw new LayerError(LayerErrorCode.CorruptMetadata, `tar-split names ${JSON.stringify(name)}, outside layer ${cacheId}`, {
        details: { name, cacheId },
      });
    }
    return join(dir, rel);
  };
  return {
    path,
    async *open(name) {
      const handle = await openLayerFile(path(name)).catch((e: unknown) => {
        if (!(e instanceof LayerFileRefused)) throw e;
        throw new LayerError(
          LayerErrorCode.VerificationFailed,
          `could not verify layer data of ${cacheId}: file ${JSON.stringify(name)} cannot be read: ${e.message}`,
          {
            cause: e,
            details: { cacheId, name },
          },
        );
      });
      yield* createReadStream("", { fd: handle, highWaterMark: 1 << 20 });
    },
    async close() {
      if (mounted) await driver.put(cacheId);
    },
  };
}
