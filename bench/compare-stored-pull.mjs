#!/usr/bin/env node
// A/B of two `stored` builds on the same pull: the bench image of daemon-pull-load.mjs pulled from
// one loopback registry by a daemon of each build, alternating, image, layers and kept blobs
// removed between rounds; medians and each build's CPU seconds per pull. For deciding whether a
// change to the pull path pays before measuring it against dockerd.
// Usage (root, dockerd, docker-registry, skopeo; both trees built):
//   node bench/compare-stored-pull.mjs --base /path/to/other/checkout [--rounds 7] [--mib 190] [--files 13000] [--op pull|load]
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { arg, loadavg, makeWorkDir, median, settle } from "./archive-support.mjs";
import { cpuSeconds, dockerCli, registryWithBenchImage, startStored } from "./daemon-support.mjs";
import { runAsync } from "./pull-support.mjs";

const rounds = arg("rounds", 7);
const text = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const base = text("base", "");
const op = text("op", "pull");
if (!base) throw new Error("--base <checkout> is required");

const workDir = await makeWorkDir("compare-pull");
const work = workDir.dir;
const cleanups = [];
try {
  const { registry, ref, archive } = await registryWithBenchImage(work, { mib: arg("mib", 190), files: arg("files", 13000) });
  cleanups.push(() => registry.stop());
  const sides = [];
  for (const [name, bin] of [
    ["this", undefined],
    ["base", join(base, "apps/daemon/bin/stored.js")],
  ]) {
    const dir = join(work, name);
    const root = join(dir, "root");
    // STORED_ARGS / STORED_NODE_ARGS / STORED_THREADPOOL: extra daemon flags / node flags / a
    // UV_THREADPOOL_SIZE for this build's daemon (a setting tried against the base's default).
    const extraArgs = name === "this" ? (process.env.STORED_ARGS ?? "").split(" ").filter(Boolean) : [];
    const nodeArgs = name === "this" ? (process.env.STORED_NODE_ARGS ?? "").split(" ").filter(Boolean) : [];
    const env = name === "this" && process.env.STORED_THREADPOOL ? { UV_THREADPOOL_SIZE: process.env.STORED_THREADPOOL } : {};
    const stored = await startStored(dir, root, { bin, extraArgs, nodeArgs, env });
    cleanups.push(() => stored.stop());
    sides.push({ name, root, stored, wall: [], cpu: [] });
  }
  const run = (side) => runAsync("docker", op === "pull" ? ["pull", "-q", ref] : ["load", "-q", "-i", archive], { env: side.stored.env });
  const clean = (side) => {
    dockerCli(side.stored.env, ["rmi", op === "pull" ? ref : "bench:1"]);
    dockerCli(side.stored.env, ["image", "prune", "-f"]);
    rmSync(join(side.root, "image", "overlay2", "blobs"), { recursive: true, force: true });
  };
  // Two warm-up rounds each: V8 optimises the hot paths over the first thousands of files.
  for (let i = 0; i < 2; i++)
    for (const side of sides) {
      await run(side);
      clean(side);
    }
  console.log(`load average before: ${loadavg()}`);
  for (let i = 0; i < rounds; i++)
    for (const side of i % 2 ? [...sides].reverse() : sides) {
      settle();
      const c0 = cpuSeconds(side.stored.pid);
      const r = await run(side);
      if (r.code !== 0) throw new Error(`${side.name}: ${r.stderr}`);
      side.wall.push(r.s);
      side.cpu.push(cpuSeconds(side.stored.pid) - c0);
      clean(side);
    }
  const peakRss = (pid) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) / 1024;
  for (const side of sides)
    console.log(
      `${side.name}: docker ${op} ${median(side.wall).toFixed(2)} s (all ${side.wall.map((t) => t.toFixed(2)).join(" ")}), ${median(side.cpu).toFixed(2)} CPU s, peak RSS ${peakRss(side.stored.pid).toFixed(0)} MiB`,
    );
  console.log(`this / base: ${(median(sides[0].wall) / median(sides[1].wall)).toFixed(3)}; load average after: ${loadavg()}`);
} finally {
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch((e) => console.error(`cleanup: ${e.message}`));
  await workDir.dispose();
}
