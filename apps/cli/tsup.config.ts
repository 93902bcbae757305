import { defineConfig } from "tsup";
import { packageConfig } from "../../tsup.config.base.ts";

// An app, not a library: one ESM entry with a shebang, no declarations.
export default defineConfig(packageConfig({ entry: ["src/bin.ts"], format: ["esm"], dts: false, banner: { js: "#!/usr/bin/env node" } }));
