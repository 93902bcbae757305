// The one tsup configuration every package extends: ESM + CJS + .d.ts, Node 20.
import type { Options } from "tsup";

export function packageConfig(overrides: Options = {}): Options {
  return {
    entry: ["src/index.ts"],
    format: ["esm", "cjs"],
    dts: true,
    sourcemap: true,
    clean: true,
    target: "node20",
    platform: "node",
    splitting: false,
    treeshake: false,
    ...overrides,
  };
}

/**
 * An app, not a library: one ESM entry with a shebang, no declarations. The @store/* siblings
 * are bundled from their TypeScript sources (the "source" condition, as in tests), so the binary
 * never runs against a stale or missing sibling build; third-party packages (the AWS SDK,
 * koffi's native binary) stay external and load from node_modules. Split into chunks for what is
 * imported on demand (the S3 and memory backends), so their third-party imports (the AWS SDK,
 * memfs) load only when used, not at every start.
 */
export function appConfig(entry: string): Options {
  return packageConfig({
    entry: [entry],
    format: ["esm"],
    dts: false,
    splitting: true,
    banner: { js: "#!/usr/bin/env node" },
    noExternal: [/^@store\//],
    external: [/^(?!@store\/)[^./]/],
    esbuildOptions(options) {
      options.conditions = ["source", "module", "node", "import", "default"];
    },
  });
}
