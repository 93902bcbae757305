import { join } from "node:path";
import { backendConformance } from "@store/conformance";
import { FsDriver, createFsBackend } from "../src/index";
import { tempDir } from "@store/test-support";

backendConformance("fs", async () => {
  const dir = await tempDir();
  const root = join(dir.path, "image", "overlay2", "imagedb");
  // A second driver on the same directory, for the cases that tamper with what is stored.
  return { backend: createFsBackend({ root }), driver: new FsDriver({ root }), reopen: async () => createFsBackend({ root }), cleanup: dir.remove };
});
