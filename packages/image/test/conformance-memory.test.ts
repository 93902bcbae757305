import { createMemoryBackend } from "@store/backend-memory";
import { imageConformance } from "../src/conformance/index";

// The image suites (restore, chain, walk) on the memory backend, with the suite's fake layer store.
imageConformance("memory", () => {
  const backend = createMemoryBackend();
  return { backend, reopen: async () => backend };
});
