import { createBackend } from "@store/backend";
import { backendConformance } from "../src/index";
import { MapDriver } from "@store/test-support";

// The suite on the smallest correct backend, persistence included: a reopen shares the Map.
backendConformance("map", () => {
  const objects = new Map<string, Uint8Array[]>();
  return { backend: createBackend(new MapDriver({ objects, capabilities: { persistent: true } })), reopen: async () => createBackend(new MapDriver({ objects, capabilities: { persistent: true } })) };
});
