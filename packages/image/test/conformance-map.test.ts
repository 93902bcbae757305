import { createBackend } from "@store/backend";
import { MapDriver } from "@store/test-support";
import { imageConformance } from "../src/conformance/index";

// The image suites on a bare Map driver, with the fake layer store: what they test is the backend.
// Each real backend runs them in one line beside this one (conformance-fs, -memory, -s3).
imageConformance("map", () => {
  const objects = new Map<string, Uint8Array[]>();
  return { backend: createBackend(new MapDriver({ objects, capabilities: { persistent: true } })), reopen: async () => createBackend(new MapDriver({ objects, capabilities: { persistent: true } })) };
});
