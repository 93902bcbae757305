import { defineConfig } from "tsup";
import { packageConfig } from "../../tsup.config.base.ts";

// vitest must stay external: the suite registers its tests with the caller's vitest runner, and a
// bundled copy of it has no runner. (It is a devDependency only, so tsup would bundle it.)
export default defineConfig(packageConfig({ external: ["vitest"] }));
