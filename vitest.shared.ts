// The one vitest configuration every package extends. The "source" condition makes sibling
// @store/* packages resolve to their TypeScript sources, so a package's tests never wait for (or
// test stale) builds of the packages it uses. Otherwise resolve as Node does: Vite's "module"
// condition would pick ESM builds (the AWS SDK's dist-es) whose extensionless imports Node
// cannot load once externalized.
import { defineConfig } from "vitest/config";

const conditions = ["source", "node", "import", "default"];

export default defineConfig({
  resolve: { conditions, mainFields: ["main"] },
  ssr: { resolve: { conditions, externalConditions: ["node"] } },
  test: {
    environment: "node",
    passWithNoTests: true,
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // The JSON report feeds scripts/test-summary.mjs's "N passed, N failed" line (turbo caches it).
    reporters: ["default", ["json", { outputFile: "test-results.json" }]],
  },
});
