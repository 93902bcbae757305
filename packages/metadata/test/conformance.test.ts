import { join } from "node:path";
import { metadataConformance } from "../src/conformance/index";
import { createFsMetadataStore, createMemoryMetadataStore } from "../src/index";
import { tempDir } from "@store/test-support";

metadataConformance("memory", () => ({ store: createMemoryMetadataStore() }));

// A second store over the same root races through its own lock files, as another process would.
metadataConformance("fs", async () => {
  const dir = await tempDir();
  const open = async () => createFsMetadataStore({ root: join(dir.path, "image", "overlay2") });
  return { store: await open(), reopen: open, cleanup: dir.remove };
});
