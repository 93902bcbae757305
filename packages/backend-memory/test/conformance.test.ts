import { createBackend } from "@store/backend";
import { backendConformance } from "@store/conformance";
import { createMemoryDriver } from "../src/index";

// The backend and, for the cases that tamper with what is stored, its own driver.
backendConformance("memory", () => {
  const driver = createMemoryDriver();
  return { backend: createBackend(driver), driver };
});
