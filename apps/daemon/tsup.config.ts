import { defineConfig } from "tsup";
import { appConfig } from "../../tsup.config.base.ts";

export default defineConfig(appConfig("src/bin.ts"));
