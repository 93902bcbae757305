import { defineConfig } from "tsup";
import { packageConfig } from "../../tsup.config.base.ts";

// shims: the CJS build gets import.meta.url from __filename (zstd-stream.ts finds zstddec's
// file relative to its own).
export default defineConfig(packageConfig({ shims: true }));
