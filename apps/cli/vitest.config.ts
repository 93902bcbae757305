import { defineConfig, mergeConfig } from "vitest/config";
import shared from "../../vitest.shared.ts";

// The CLI loads @store/backend-s3 and with it the AWS SDK. The shared "module" condition makes
// Vite pick the SDK's dist-es builds, whose extensionless imports Node cannot load once
// externalized; resolve like Node does ("node" → dist-cjs), as backend-s3's own config does.
const conditions = ["source", "node", "import", "default"];
const config = mergeConfig(shared, defineConfig({}));
config.resolve = { ...config.resolve, conditions, mainFields: ["main"] };
config.ssr = { ...config.ssr, resolve: { ...config.ssr?.resolve, conditions, externalConditions: ["node"] } };

export default config;
