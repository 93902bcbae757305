import { createBackend } from "@store/backend";
import { imageConformance } from "@store/conformance";
import { createMemoryDriver } from "../src/index";

// The image suites (restore, chain, walk) on the memory backend, with the suite's fake layer store.
imageConformance("memory", () => {
  const driver = createMemoryDriver();
  const backend = createBackend(driver);
  return { backend, driver, reopen: async () => backend };
});
