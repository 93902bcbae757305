import { createBackend } from "@store/backend";
import { imageConformance } from "../src/index";
import { MapDriver } from "./map-driver";

// The image suites on a bare Map driver, with the fake layer store: what they test is the backend.
// Each real backend runs them from its own package (backend-memory, backend-fs, backend-s3), so
// this package never depends on an implementation it tests.
imageConformance("map", () => {
  const objects = new Map<string, Uint8Array[]>();
  return { backend: createBackend(new MapDriver(objects)), reopen: async () => createBackend(new MapDriver(objects)) };
});
