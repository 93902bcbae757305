import { createBackend } from "@store/backend";
import { MapDriver } from "@store/test-support";
import { imageConformance } from "../src/conformance/index";

// The image suites on a bare Map driver, with the fake layer store: what they test is the backend.
// Each real backend runs them in one line beside this one (conformance-fs, -memory, -s3).
imageConformance("map", () => {
  const objects = new Map<string, Uint8Array[]>();
  const driver = new MapDriver({ objects, capabilities: { persistent: true } });
  return { backend: createBackend(driver), driver, reopen: async () => createBackend(new MapDriver({ objects, capabilities: { persistent: true } })) };
});
