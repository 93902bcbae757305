#!/usr/bin/env node
// Committed launcher so `npm ci` can link the `stored` bin before the build has run; the
// daemon itself is the built dist/bin.js.
import("../dist/bin.js").catch((e) => {
  if (e && e.code === "ERR_MODULE_NOT_FOUND" && String(e.message).includes("dist/bin.js")) {
    console.error("stored: not built yet; run `npm run build` at the repository root");
    process.exit(1);
  }
  throw e;
});
