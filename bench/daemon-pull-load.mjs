#!/usr/bin/env node
// Benchmark (issue #13 item 6, c and d): `stored` against dockerd, each on a root of its own.
// (d) `docker pull` (the docker CLI, DOCKER_HOST) of the ≈190 MB / 13,000-file / 5-layer image of
// bench/pull.mjs from a loopback registry, and `docker load` of its `docker save` archive, through
// each daemon, alternating, the image removed and pruned between rounds outside the timing;
// medians; goal for stored <= 0.5x. (c) the latency of `GET /images/json` (one keep-alive
// connection, a request every 5 ms) while that pull and a load of another 190 MiB one-layer
// archive run at once on the same daemon: p50, p99 and max, beside the same daemon idle; goal
// for stored's p99 <= 50 ms.
// Runs on a fresh loop-mounted ext4 of its own (see makeWorkDir in archive-support.mjs).
//
// Usage (root, dockerd, docker-registry, skopeo; after `npm run build`):
//   node bench/daemon-pull-load.mjs [--rounds 3] [--mib 190] [--files 13000] [--host-fs]
// About 65 s.
//
// Figures seen (2 shared cores), before this session's load work (two runs, load average 2.9 and
// 2.0 at the start; medians of 3 rounds):
//   (d) docker pull, 190 MB / 13,000 files: dockerd 2.44 / 2.65 s, stored 1.11 / 1.23 s: 0.46x / 0.46x (goal met)
//       docker load of its save archive:    dockerd 2.32 / 2.54 s, stored 1.21 / 1.49 s: 0.52x / 0.59x (goal <= 0.5x: not met)
//   (c) /images/json during pull + load:    stored p99 15.1 / 16.0 ms, max 18.7 / 18.3 ms (goal <= 50 ms: met);
//                                           dockerd p99 20.9 / 16.0 ms, max 26.9 / 34.9 ms;
//                                           idle: stored p99 3.0 / 2.2 ms, dockerd p99 1.2 / 1.5 ms
// After (a large file's chunks gathered into 1 MiB pwritevs instead of one thread-pool write per
// request chunk of <= 32 KiB; load average 1.4 at the start, 1.9 at the end; medians of 5 rounds):
//   (d) docker pull: dockerd 2.52 s, stored 1.18 s: 0.47x (goal met)
//       docker load: dockerd 2.74 s, stored 1.36 s: 0.50x (goal <= 0.5x: met, at the edge)
//   (c) /images/json during pull + load: stored p99 15.3 ms, max 20.7 ms (goal met); dockerd p99
//       15.5 ms, max 35.1 ms; idle: stored p99 2.8 ms, dockerd 1.6 ms
// The same change measured against the build before it, three daemons alternating (dockerd, old
// stored, new stored; medians of 3-4 rounds; the machine busy, load average 7-8): load 0.64x ->
// 0.50x of dockerd's time and 1.90 -> 1.42 CPU s per load; pull 0.59x -> 0.53x, 1.81 -> 1.64 CPU s.
// CORRECTION (2026-12-06, later): every stored pull figure above is of a pull that read no
// network. stored keeps the compressed blobs a pull brings (for push and the shared tier), rmi and
// prune leave them, and a pull that finds them extracts from them: after the warm-up round every
// timed pull was a local one. The script now removes image/overlay2/blobs between rounds. With
// that (load average 2.8 at the start; medians of 3): docker pull dockerd 2.50 s, stored 1.30 s:
// 0.52x (goal <= 0.5x: NOT met, just over); docker load dockerd 2.42 s, stored 1.12 s: 0.46x (met).
// A daemon's first pull of an image this size is ~1 s slower while V8 optimises the hot paths
// (bench/shared-tier.mjs warms its fresh hosts with an image of the same kind for that reason).
// Session 6 (2026-12-06): stored and store now start node with a 128 MiB initial old generation
// (a mark-compact every ~30 ms before), gunzip gives 1 MiB chunks, layerdb's five files are
// fsynced together, tar-split is gzip level 1: 13% less CPU per pull (bench/compare-stored-pull.mjs).
// Four runs of 5 rounds after (load average 1.1-2.8 at the start): docker pull dockerd
// 2.43 / 2.53 / 2.52 / 2.37 s, stored 1.22 / 1.30 / 1.30 / 1.24 s: 0.50 / 0.51 / 0.52 / 0.52x
// (goal <= 0.5x: at the edge); docker load 0.41 / 0.42 / 0.41 / 0.40x; /images/json p99 during
// pull + load 17.1 / 14.6 / 21.4 ms.
// Runs while the machine was busy (load average 5-9) gave 0.6-0.8x: repeat any run that starts
// with a load average above ~2.5. What is left of a load's main thread: sha256 (~15%), tar-split's
// CRC-64 of every byte (~15-20%), garbage collection (~10%), per-entry work of 13,000 entries.
import { readdirSync, rmSync } from "node:fs";
import { Agent } from "node:http";
import { join } from "node:path";
import { arg, buildBenchImage, loadavg, makeWorkDir, median, settle, startDockerd } from "./archive-support.mjs";
import { dockerCli, getOn, quantile, startStored } from "./daemon-support.mjs";
import { runAsync, skopeoPush, sleep, startLoopbackRegistry, writeOneLayerArchive } from "./pull-support.mjs";

const rounds = arg("rounds", 3);
const mib = arg("mib", 190);
const fmt = (v) => `${v.toFixed(2)} s`;

/** GET /images/json on one keep-alive connection every `gapMs` until `until` settles; latencies in ms. */
async function sample(socket, until, gapMs = 5) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const latencies = [];
  let done = false;
  const finished = until.finally(() => (done = true));
  while (!done) {
    const r = await getOn(socket, "/v1.41/images/json", agent);
    if (r.status !== 200) throw new Error(`GET /images/json answered ${r.status}`);
    latencies.push(r.ms);
    await sleep(gapMs);
  }
  agent.destroy();
  return { latencies, result: await finished };
}

const stat = (xs) =>
  `p50 ${quantile(xs, 0.5).toFixed(1)} ms, p99 ${quantile(xs, 0.99).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms (${xs.length} requests)`;

const workDir = await makeWorkDir("daemon-pull");
const work = workDir.dir;
const cleanups = [];
try {
  const registry = await startLoopbackRegistry(work);
  cleanups.push(() => registry.stop());
  const { port } = registry;
  const dockerd = await startDockerd(work);
  cleanups.push(() => dockerd.stop());
  const stored = await startStored(work, join(work, "stored-root"));
  cleanups.push(() => stored.stop());

  console.log("building the images…");
  await buildBenchImage(work, dockerd.docker, { mib, files: arg("files", 13000) });
  const filesArchive = join(work, "files.tar");
  dockerd.docker(["save", "-o", filesArchive, "bench:1"]);
  dockerd.docker(["rmi", "bench:1"]);
  dockerd.docker(["image", "prune", "-f"]);
  const ref = `127.0.0.1:${port}/bench/files:1`;
  skopeoPush(filesArchive, ref);
  const otherArchive = join(work, "other.tar");
  await writeOneLayerArchive(otherArchive, "other:1", { mib });

  const sides = [
    { name: "dockerd", env: dockerd.env, socket: dockerd.env.DOCKER_HOST.slice("unix://".length), root: dockerd.root },
    { name: "stored", env: stored.env, socket: stored.socket, root: join(work, "stored-root") },
  ];
  const docker = async (side, args) => {
    const r = await runAsync("docker", args, { env: side.env });
    if (r.code !== 0) throw new Error(`docker ${args.join(" ")} through ${side.name}: ${r.stderr.trim().slice(-2000)}`);
    return r;
  };
  const clean = (side, names) => {
    dockerCli(side.env, ["rmi", ...names], { allowFailure: true });
    dockerCli(side.env, ["image", "prune", "-f"]);
    const left = readdirSync(join(side.root, "image", "overlay2", "layerdb", "sha256"));
    if (left.length > 0) throw new Error(`${side.name} still holds ${left.length} layers after rmi and prune`);
    // stored keeps the compressed blobs a pull brought (for push and the shared tier), and a
    // pull finding them there reads no network: removed, so every timed pull downloads. (Until
    // 2026-12-06 this bench left them, and stored's pull figures were of pulls from that cache.)
    rmSync(join(side.root, "image", "overlay2", "blobs"), { recursive: true, force: true });
  };
  const ops = [
    { name: "docker pull", run: (side) => docker(side, ["pull", "-q", ref]), clean: (side) => clean(side, [ref]) },
    { name: "docker load", run: (side) => docker(side, ["load", "-q", "-i", filesArchive]), clean: (side) => clean(side, ["bench:1"]) },
  ];
  // Warm-up, not counted: page cache, each daemon's first pull and load.
  for (const op of ops)
    for (const side of sides) {
      await op.run(side);
      op.clean(side);
    }

  console.log(`\nload average before the timed runs: ${loadavg()}`);
  console.log(`(d) ${mib} MB / ${arg("files", 13000)}-file image, ${rounds} rounds alternating, medians (goal for stored <= 0.5x):`);
  for (const op of ops) {
    const times = { dockerd: [], stored: [] };
    for (let i = 0; i < rounds; i++)
      for (const side of sides) {
        settle();
        times[side.name].push((await op.run(side)).s);
        op.clean(side);
      }
    const [d, s] = [median(times.dockerd), median(times.stored)];
    console.log(
      `  ${op.name}: dockerd ${fmt(d)} (all ${times.dockerd.map((t) => t.toFixed(2)).join(" ")}); stored ${fmt(s)} (all ${times.stored.map((t) => t.toFixed(2)).join(" ")}): ${(s / d).toFixed(2)}x`,
    );
  }

  console.log(`\n(c) GET /images/json latency, one keep-alive connection, a request every 5 ms (goal for stored's p99 <= 50 ms):`);
  for (const side of sides) {
    const idle = await sample(side.socket, sleep(3_000));
    settle();
    const t = performance.now();
    const busy = await sample(side.socket, Promise.all([docker(side, ["pull", "-q", ref]), docker(side, ["load", "-q", "-i", otherArchive])]));
    const s = (performance.now() - t) / 1000;
    console.log(`  ${side.name}: idle ${stat(idle.latencies)}`);
    console.log(`  ${" ".repeat(side.name.length)}  during pull + load (${fmt(s)} for both): ${stat(busy.latencies)}`);
    clean(side, [ref, "other:1"]);
  }
  console.log(`\nload average after: ${loadavg()}`);
} finally {
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch((e) => console.error(`cleanup: ${e.message}`));
  await workDir.dispose();
}
