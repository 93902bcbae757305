#!/usr/bin/env node
// Where a `docker pull` through `stored` spends its time: the bench image of daemon-pull-load.mjs
// pulled from a loopback registry --rounds times (image, layers and kept blobs removed between),
// with stored under --cpu-prof. Prints each pull's wall time and stored's CPU seconds (main
// thread plus thread pool, from /proc), then the profile's top functions by self time, for the
// main thread only (the thread pool's zlib and fs work is not in a V8 profile).
// Usage (root, dockerd, docker-registry, skopeo; after `npm run build`):
//   node bench/profile-daemon-pull.mjs [--rounds 4] [--mib 190] [--files 13000] [--top 40]
// Environment: STORED_NODE_ARGS (more node flags for stored, e.g. --trace-gc), STORED_LOG_TO (a
// file to copy stored's log to at the end), TIMELINE=1 (print docker pull's progress lines with
// their times), PROFILE_KEEP (a file to keep the .cpuprofile in), PERF_OUT (instead of
// --cpu-prof, `perf record -a -g` of the whole machine from the second pull, into that file;
// add --perf-basic-prof to STORED_NODE_ARGS to name JIT frames).
// What it found (2026-12-06): stored's main thread is ~65% busy during a pull; the rest of the
// process's CPU is the thread pool (~0.5 s per pull), the small-file writer thread (~0.3 s) and
// V8's marking threads (~0.3 s, from a mark-compact every ~30 ms: see bin/stored.js). sha256 of
// both streams is the largest single item of the main thread (~0.23 s per pull).
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { arg, makeWorkDir, settle } from "./archive-support.mjs";
import { cpuSeconds, dockerCli, registryWithBenchImage, startStored } from "./daemon-support.mjs";
import { runAsync } from "./pull-support.mjs";

const rounds = arg("rounds", 4);
const top = arg("top", 40);

/** Machine-wide busy and idle jiffies (all cores), from /proc/stat. */
const machine = () => {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + f[4];
  return { idle, busy: f.reduce((a, b) => a + b, 0) - idle };
};

const workDir = await makeWorkDir("profile-pull");
const work = workDir.dir;
const cleanups = [];
const profDir = join(work, "prof");
try {
  const { registry, ref } = await registryWithBenchImage(work, { mib: arg("mib", 190), files: arg("files", 13000) });
  cleanups.push(() => registry.stop());
  const root = join(work, "stored-root");
  const stored = await startStored(work, root, {
    nodeArgs: [...(process.env.PERF_OUT ? [] : ["--cpu-prof", "--cpu-prof-dir", profDir]), ...(process.env.STORED_NODE_ARGS ?? "").split(" ").filter(Boolean)],
  });
  cleanups.push(() => stored.stop());
  let perf;
  const windows = [];
  for (let i = 0; i < rounds; i++) {
    settle();
    // PERF_OUT: the whole machine under `perf record` from the second pull on (the first warms V8).
    if (i === 1 && process.env.PERF_OUT) {
      perf = spawn("perf", ["record", "-F", "999", "-a", "-g", "-o", process.env.PERF_OUT], { stdio: "ignore" });
      await new Promise((r) => setTimeout(r, 1000));
    }
    const c0 = cpuSeconds(stored.pid);
    const m0 = machine();
    const t = performance.now();
    const from = process.hrtime.bigint() / 1000n;
    const lines = [];
    const r = await runAsync("docker", ["pull", ...(process.env.TIMELINE ? [] : ["-q"]), ref], {
      env: stored.env,
      onSpawn: (child) =>
        child.stdout.on("data", (d) => {
          for (const line of String(d).split("\n").filter(Boolean)) lines.push(`${((performance.now() - t) / 1000).toFixed(3)} ${line}`);
        }),
    });
    if (r.code !== 0) throw new Error(r.stderr);
    const wall = (performance.now() - t) / 1000;
    // The profile's clock is the same monotonic clock, in µs: only the pulls are counted, not
    // the removals between them.
    if (i > 0) windows.push([Number(from), Number(process.hrtime.bigint() / 1000n)]);
    if (process.env.TIMELINE) console.log(`started at ${Math.round(performance.timeOrigin + t)} ms since the epoch\n${lines.join("\n")}`);
    const m1 = machine();
    const busy = (m1.busy - m0.busy) / (m1.busy - m0.busy + m1.idle - m0.idle);
    console.log(
      `pull ${i + 1}: ${wall.toFixed(2)} s wall, stored ${(cpuSeconds(stored.pid) - c0).toFixed(2)} CPU s; the machine's cores ${(busy * 100).toFixed(0)}% busy`,
    );
    dockerCli(stored.env, ["rmi", ref]);
    dockerCli(stored.env, ["image", "prune", "-f"]);
    rmSync(join(root, "image", "overlay2", "blobs"), { recursive: true, force: true });
  }
  if (perf) {
    perf.kill("SIGINT");
    await new Promise((r) => perf.once("exit", r));
  }
  await stored.stop();
  cleanups.pop();
  if (process.env.STORED_LOG_TO) writeFileSync(process.env.STORED_LOG_TO, readFileSync(stored.logPath));
  const file = process.env.PERF_OUT ? undefined : readdirSync(profDir).find((n) => n.endsWith(".cpuprofile"));
  if (file) report(JSON.parse(readFileSync(join(profDir, file), "utf8")), windows);
} finally {
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch((e) => console.error(`cleanup: ${e.message}`));
  await workDir.dispose();
}

/** The main thread's top functions by self time, from a .cpuprofile. */
function report(profile, windows) {
  const inWindow = (ts) => windows.some(([a, b]) => ts >= a && ts <= b);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = profile.timeDeltas;
  let ts = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    ts += dt[i] ?? 0;
    if (!inWindow(ts)) continue;
    const n = byId.get(profile.samples[i]);
    const { functionName, url, lineNumber } = n.callFrame;
    const key = `${functionName || "(anonymous)"} ${url.split("/").slice(-2).join("/")}:${lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  if (process.env.PROFILE_KEEP) writeFileSync(process.env.PROFILE_KEEP, JSON.stringify({ ...profile, windows }));
  console.log(`\nmain thread, pulls 2 to ${windows.length + 1}, ${(total / 1e6).toFixed(2)} s sampled; top ${top} by self time:`);
  for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`  ${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1e6).toFixed(3)} s  ${k}`);
}
