import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBackend } from "@store/backend";
import { createFsBackend } from "@store/backend-fs";
import { createMemoryBackend } from "@store/backend-memory";
import { createOverlay2Driver } from "@store/graphdriver-overlay2";
import { createLayerStore, createMemoryLayerMetadataStore } from "@store/layer";
import { hasRoot } from "@store/test-peers";
import { describe } from "vitest";
import { imageConformance, layerStoreSide } from "../src/index";
import { MapDriver } from "./map-driver";

// The image suites on every local backend, with the fake layer store: what they test is the backend.
imageConformance("map", () => {
  const objects = new Map<string, Uint8Array[]>();
  return { backend: createBackend(new MapDriver(objects)), reopen: async () => createBackend(new MapDriver(objects)) };
});

imageConformance("memory", () => {
  const backend = createMemoryBackend();
  return { backend, reopen: async () => backend };
});

async function fsFactory() {
  const root = await mkdtemp(join(tmpdir(), "image-conformance-"));
  const imagedb = join(root, "imagedb");
  return {
    backend: createFsBackend({ root: imagedb }),
    reopen: async () => createFsBackend({ root: imagedb }),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

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
