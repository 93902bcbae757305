import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFsBackend } from "@store/backend-fs";
import { createMemoryBackend } from "@store/backend-memory";
import { imageConformance } from "./conformance/index";
import { createMapBackend } from "./support/map-driver";

imageConformance("map", async () => {
  const data = new Map<string, Uint8Array>();
  return { backend: createMapBackend(data), reopen: async () => createMapBackend(data), cleanup: async () => {} };
});

imageConformance("memory", async () => {
  const backend = createMemoryBackend();
  return { backend, reopen: async () => backend, cleanup: async () => {} };
});

imageConformance("fs", async () => {
  const root = await mkdtemp(join(tmpdir(), "image-conformance-"));
  const imagedb = join(root, "imagedb");
  return {
    backend: createFsBackend({ root: imagedb }),
    reopen: async () => createFsBackend({ root: imagedb }),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});
