import { join } from "node:path";
import { backendConformance } from "@store/conformance";
import { createFsBackend } from "../src/index";
import { tempDir } from "@store/test-support";

backendConformance("fs", async () => {
  const dir = await tempDir();
  const root = join(dir.path, "image", "overlay2", "imagedb");
  return { backend: createFsBackend({ root }), reopen: async () => createFsBackend({ root }), cleanup: dir.remove };
});
