import { defineConfig } from "tsup";
import { packageConfig } from "../../tsup.config.base.ts";

// An app, not a library: one ESM entry with a shebang, no declarations. The @store/* siblings
// are bundled from their TypeScript sources (the "source" condition, as in tests), so the
// binary never runs against a stale or missing sibling build; third-party packages (the AWS
// SDK, koffi's native binary) stay external and load from node_modules.
export default defineConfig(
  packageConfig({
    entry: ["src/bin.ts"],
    format: ["esm"],
    dts: false,
    // Chunks for what the daemon imports on demand (the S3 and memory backends): their third-party
    // imports (the AWS SDK, memfs) then load only when used, not at start.
    splitting: true,
    banner: { js: "#!/usr/bin/env node" },
    noExternal: [/^@store\//],
    external: [/^(?!@store\/)[^./]/],
    esbuildOptions(options) {
      options.conditions = ["source", "module", "node", "import", "default"];
    },
  }),
);
