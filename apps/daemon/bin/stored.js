#!/usr/bin/env -S node --initial-old-space-size=128
// Committed launcher so `npm ci` can link the `stored` bin before the build has run; the
// daemon itself is the built dist/bin.js.
// Why --initial-old-space-size: V8 sizes the old generation to the live heap (about 10 MB
// here), so a pull or load, whose chunks and promises survive a scavenge or two, started a full
// mark-compact every ~30 ms: 20-odd per 190 MB pull, ~10% of the process's CPU in marking threads.
// A 128 MiB start leaves room for that churn (6 mark-compacts in four pulls; measured with
// bench/compare-stored-pull.mjs: 10-12% less CPU per pull; peak RSS 227 MiB instead of 200). It
// is a start-up flag (v8.setFlagsFromString does not resize a heap already made), hence the
// shebang; `env -S` execs node itself, so the PID is the daemon's.
import("../dist/bin.js").catch((e) => {
  if (e && e.code === "ERR_MODULE_NOT_FOUND" && String(e.message).includes("dist/bin.js")) {
    console.error("stored: not built yet; run `npm run build` at the repository root");
    process.exit(1);
  }
  throw e;
});
