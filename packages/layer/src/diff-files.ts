import { createReadStream } from "node:fs";
import { join } from "node:path";
import { entryRelativePath, type GraphDriver } from "@store/graphdriver";
import { LayerError, LayerErrorCode } from "./errors";

/**
 * Opens files of one layer's own content by their tar names, to rebuild its tar from tar-split.
 * A driver with `diffDir` (moby's DiffGetter; overlay2's `diff/`) serves them without a mount;
 * other drivers' layers are mounted for the duration.
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
  const dir = mounted ? await driver.get(cacheId) : await driver.diffDir!(cacheId);
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
    open(name) {
      return createReadStream(path(name), { highWaterMark: 1 << 20 });
    },
    async close() {
      if (mounted) await driver.put(cacheId);
    },
  };
}
