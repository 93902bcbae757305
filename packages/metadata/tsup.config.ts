import { defineConfig } from "tsup";
import { packageConfig } from "../../tsup.config.base.ts";

// Two entries: the package, and its conformance suite (`@store/metadata/conformance`).
export default defineConfig(packageConfig({ entry: { index: "src/index.ts", "conformance/index": "src/conformance/index.ts" } }));
