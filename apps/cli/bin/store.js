#!/usr/bin/env node
// Committed launcher so `npm ci` can link the `store` bin before the build has run; the
// command itself is the built dist/bin.js.
import("../dist/bin.js").catch((e) => {
  if (e && e.code === "ERR_MODULE_NOT_FOUND" && String(e.message).includes("dist/bin.js")) {
    console.error("store: not built yet; run `npm run build` at the repository root");
    process.exit(1);
  }
  throw e;
});
