import { createBackend } from "@store/backend";
import { imageConformance } from "../src/index";
import { MapDriver } from "./map-driver";

// The image suites on a bare Map driver, with the fake layer store: what they test is the backend.
// Each real backend runs them from its own package (backend-memory, backend-fs, backend-s3), so
// this package never depends on an implementation it tests.
imageConformance("map", () => {
  const objects = new Map<string, Uint8Array[]>();
  const driver = new MapDriver(objects);
  return { backend: createBackend(driver), driver, reopen: async () => createBackend(new MapDriver(objects)) };
});
