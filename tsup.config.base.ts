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
