#!/usr/bin/env node
// Benchmark: is a load (the library's loadArchive) any slower than it was at an earlier commit?
// Changes that trade speed for something else (verification before commit, yielding to the event
// loop, work moved to threads) are held to "no slower than 1.1x"; this measures it. Each round
// runs both checkouts' loadArchive on the same archive, alternating, each in a fresh process of
// its own (module loading outside the timing, as a daemon has it loaded), into a fresh root on a
// fresh loop-mounted ext4 (see makeWorkDir in archive-support.mjs).
// Usage: node bench/load-baseline.mjs --baseline DIR [--rounds 5] [--mib 190] [--files 13000] [--host-fs]
//   DIR: another checkout of this repository, built (`git worktree add DIR <commit>`, then
//   `npm ci && npx turbo run build` there).
// Needs root and dockerd (the bench image is built by dockerd and saved with docker save).
import { spawnSync } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { arg, buildBenchImage, makeWorkDir, median, startDockerd } from "./archive-support.mjs";

const self = fileURLToPath(import.meta.url);
const here = resolve(fileURLToPath(new URL("..", import.meta.url)));

if (process.argv[2] === "--child") {
  // One load by the checkout at argv[3] of the archive argv[4] into the fresh root argv[5].
  const [repo, archive, root] = process.argv.slice(3, 6);
  const { openStores } = await import(pathToFileURL(join(repo, "bench", "archive-support.mjs")).href);
  const { loadArchive } = await import(pathToFileURL(join(repo, "packages", "archive", "dist", "index.js")).href);
  const { createReadStream } = await import("node:fs");
  const stores = await openStores(root);
  const start = process.hrtime.bigint();
  await loadArchive(createReadStream(archive, { highWaterMark: 1 << 20 }), stores);
  const took = Number(process.hrtime.bigint() - start) / 1e9;
  await stores.close();
  process.stdout.write(`${took}\n`);
  process.exit(0);
}

const at = process.argv.indexOf("--baseline");
const baseline = at >= 0 ? process.argv[at + 1] : undefined;
if (!baseline) {
  console.error("usage: node bench/load-baseline.mjs --baseline DIR [--rounds 5] [--mib 190] [--files 13000] [--host-fs]");
  process.exit(2);
}
const rounds = arg("rounds", 5);
const sides = [
  { name: "baseline", repo: resolve(String(baseline)), times: [] },
  { name: "this checkout", repo: here, times: [] },
];
const workDir = await makeWorkDir("load-baseline");
const work = workDir.dir;
let dockerd;
try {
  dockerd = await startDockerd(work);
  await buildBenchImage(work, dockerd.docker, { mib: arg("mib", 190), files: arg("files", 13000) });
  const archive = join(work, "bench.tar");
  dockerd.docker(["save", "-o", archive, "bench:1"]);
  await dockerd.stop();
  dockerd = undefined;
  for (let i = 0; i < rounds; i++) {
    for (const side of i % 2 === 0 ? sides : [...sides].reverse()) {
      const root = join(work, `root-${i}-${side.name.replace(/\W/g, "")}`);
      await mkdir(root, { recursive: true });
      spawnSync("sync");
      const r = spawnSync(process.execPath, [self, "--child", side.repo, archive, root], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`${side.name}: ${r.stderr}`);
      side.times.push(Number(r.stdout.trim()));
      // Deletes (and their writeback) outside the timing: the next side must not pay for them.
      spawnSync("umount", ["-R", join(root, "overlay2")]);
      await rm(root, { recursive: true, force: true });
      spawnSync("sync");
    }
  }
  const [old, now] = sides.map((s) => median(s.times));
  for (const s of sides)
    console.log(`${s.name.padEnd(14)}: loadArchive median ${median(s.times).toFixed(3)} s; all ${s.times.map((t) => t.toFixed(2)).join(" ")} (${s.repo})`);
  console.log(`ratio (this checkout / baseline): median ${(now / old).toFixed(2)}x (goal <= 1.1x)`);
} finally {
  await dockerd?.stop();
  await workDir.dispose();
}
