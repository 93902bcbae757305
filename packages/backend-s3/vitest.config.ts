import { defineConfig, mergeConfig } from "vitest/config";
import shared from "../../vitest.shared.ts";

// The shared "module" condition makes Vite pick the AWS SDK's dist-es builds, whose extensionless
// imports Node cannot load once externalized; here we resolve like Node does ("node" → dist-cjs).
const conditions = ["source", "node", "import", "default"];
const config = mergeConfig(shared, defineConfig({}));
config.resolve = { ...config.resolve, conditions, mainFields: ["main"] };
config.ssr = { ...config.ssr, resolve: { ...config.ssr?.resolve, conditions, externalConditions: ["node"] } };

export default config;
