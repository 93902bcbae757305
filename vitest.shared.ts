// The one vitest configuration every package extends. The "source" condition makes sibling
// @store/* packages resolve to their TypeScript sources, so a package's tests never wait for (or
// test stale) builds of the packages it uses.
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["source", "module", "node", "import", "default"] },
  ssr: { resolve: { conditions: ["source", "module", "node", "import", "default"] } },
  test: {
    environment: "node",
    passWithNoTests: true,
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: process.env.CI ? ["default", ["json", { outputFile: "test-results.json" }]] : ["default", ["json", { outputFile: "test-results.json" }]],
  },
});
