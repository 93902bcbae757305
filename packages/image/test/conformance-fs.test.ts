import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FsDriver, createFsBackend } from "@store/backend-fs";
import { createOverlay2Driver } from "@store/graphdriver-overlay2";
import { createLayerStore, createMemoryLayerMetadataStore } from "@store/layer";
import { hasRoot } from "@store/test-peers";
import { describe } from "vitest";
import { imageConformance, layerStoreSide } from "../src/conformance/index";

async function fsFactory() {
  const root = await mkdtemp(join(tmpdir(), "image-conformance-"));
  const imagedb = join(root, "imagedb");
  return {
    backend: createFsBackend({ root: imagedb }),
    driver: new FsDriver({ root: imagedb }),
    reopen: async () => createFsBackend({ root: imagedb }),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

// The image suites (restore, chain, walk) on the fs backend, with the suite's fake layer store.
imageConformance("fs", fsFactory);

// Once with the real layer store (overlay2 mounts need root): real tars, real chain IDs, layers
// that really go away. Layer metadata in memory survives a reopen only in the same
// metadata store, so one is shared across the reopens of a case.
describe.skipIf(!hasRoot())("with the real layer store", () => {
  imageConformance("fs + overlay2 layer store", fsFactory, {
    layers: layerStoreSide(async () => {
      const root = await mkdtemp(join(tmpdir(), "image-conformance-layers-"));
      const metadata = createMemoryLayerMetadataStore();
      return {
        open: async () => createLayerStore({ root, driver: await createOverlay2Driver({ home: join(root, "overlay2") }), metadata }),
        cleanup: () => rm(root, { recursive: true, force: true }),
      };
    }),
  });
});
