import { createBackend } from "@store/backend";
import { createMemoryDriver } from "@store/backend-memory";
import { imageConformance } from "../src/conformance/index";

// The image suites (restore, chain, walk) on the memory backend, with the suite's fake layer store.
imageConformance("memory", () => {
  const driver = createMemoryDriver();
  const backend = createBackend(driver);
  return { backend, driver, reopen: async () => backend };
});
