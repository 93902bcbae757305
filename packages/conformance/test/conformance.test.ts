import { createBackend } from "@store/backend";
import { backendConformance } from "../src/index";
import { MapDriver } from "@store/test-support";

// The suite on the smallest correct backend, persistence included: a reopen shares the Map, as
// a second host shares a bucket (so the shared cases run too), and the driver is there raw.
backendConformance("map", () => {
  const objects = new Map<string, Uint8Array[]>();
  const capabilities = { persistent: true, shared: true, conditionalCreate: true };
  const driver = new MapDriver({ objects, capabilities });
  return { backend: createBackend(driver), driver, reopen: async () => createBackend(new MapDriver({ objects, capabilities })) };
});
