import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createFsBackend } from "@store/backend-fs";
import { createOverlay2Driver } from "@store/graphdriver-overlay2";
import { type LayerStore, createLayerStore } from "@store/layer";
import { type ImageStore, createImageStore } from "../../src/index";

/** A real tar (GNU tar, numeric owners, fixed mtime) of `files`. */
export async function realTar(files: Record<string, string>): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), "image-tar-"));
  try {
    for (const [name, content] of Object.entries(files)) {
      await mkdir(dirname(join(dir, name)), { recursive: true });
      await writeFile(join(dir, name), content);
    }
    return execFileSync("tar", ["-C", dir, "--numeric-owner", "--mtime=2020-01-02 03:04:05Z", "--sort=name", "-c", "."]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A dockerd-style root in a temp dir: the image store's imagedb at `image/overlay2/imagedb`, the
 * real layer store (layerdb + overlay2) beside it, both reopenable as after a restart.
 */
export async function realRoot() {
  const root = await mkdtemp(join(tmpdir(), "image-real-layers-"));
  const imagedb = join(root, "image", "overlay2", "imagedb");
  const opened: { layers: LayerStore[] } = { layers: [] };
  const openLayers = async () => {
    const store = await createLayerStore({ root, driver: await createOverlay2Driver({ home: join(root, "overlay2") }) });
    opened.layers.push(store);
    return store;
  };
  const openImages = (layers: LayerStore): Promise<ImageStore> => createImageStore({ backend: createFsBackend({ root: imagedb }), layers });
  return {
    root,
    imagedb,
    openLayers,
    openImages,
    /** The graph driver's directory of a layer. */
    layerDir: (cacheId: string) => join(root, "overlay2", cacheId),
    layerdbDir: (chainIdHex: string) => join(root, "image", "overlay2", "layerdb", "sha256", chainIdHex),
    async cleanup() {
      for (const s of opened.layers) await s.close().catch(() => undefined);
      await rm(root, { recursive: true, force: true });
    },
  };
}
