#!/usr/bin/env -S node --initial-old-space-size=128
// Committed launcher so `npm ci` can link the `store` bin before the build has run; the
// command itself is the built dist/bin.js.
// Why --initial-old-space-size: V8 sizes the old generation to the live heap (about 10 MB
// here), so a pull or load, whose chunks and promises survive a scavenge or two, started a full
// mark-compact every ~30 ms: 20-odd per 190 MB pull, ~10% of the process's CPU in marking threads.
// A 128 MiB start leaves room for that churn (6 mark-compacts in four pulls; measured with
// bench/compare-stored-pull.mjs: 10-12% less CPU per pull; peak RSS 227 MiB instead of 200). It
// is a start-up flag (v8.setFlagsFromString does not resize a heap already made), hence the
// shebang; `env -S` execs node itself, so the PID is the command's (see stored.js).
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";

/**
 * Under an address-space limit (`ulimit -v`), glibc reserves 64 MiB of it per thread for malloc
 * arenas, and Node's thread pool alone can use it up: the process aborts whatever the command
 * does. With MALLOC_ARENA_MAX=2 the same work fits; it must be set before the process starts,
 * so the launcher starts the command again with it, forwarding signals and the exit status.
 */
function addressSpaceLimited() {
  try {
    const line = readFileSync("/proc/self/limits", "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max address space"));
    return line !== undefined && !/\bunlimited\b/.test(line.slice(17, 43));
  } catch {
    return false;
  }
}

if (addressSpaceLimited() && process.env.MALLOC_ARENA_MAX === undefined) {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, MALLOC_ARENA_MAX: "2" },
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
} else {
  import("../dist/bin.js").catch((e) => {
    if (e && e.code === "ERR_MODULE_NOT_FOUND" && String(e.message).includes("dist/bin.js")) {
      console.error("store: not built yet; run `npm run build` at the repository root");
      process.exit(1);
    }
    throw e;
  });
}
