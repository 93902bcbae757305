#!/usr/bin/env node
// Benchmark: does the event loop stay responsive while this process loads and saves an image?
// A daemon answers `docker images` / `docker inspect` while a load or a pull runs; here one
// process loads the ~190 MB, 13,000-file, 5-layer bench image (loadArchive into its root), saves
// it again (saveArchive: the tar rebuild, the read path) and removes it, in a loop, while a timer
// calls the image service's list + inspect every 10 ms. perf_hooks.monitorEventLoopDelay measures
// how late the loop ran during each load and each save. In the same run, alternating, the same
// load and save run without the timer: the baseline the responsive run is compared with.
// Runs on a fresh loop-mounted ext4 of its own (see makeWorkDir in archive-support.mjs).
// Usage: node bench/event-loop.mjs [--rounds 5] [--mib 190] [--files 13000] [--tick 10]
//        [--resolution 2] [--host-fs]
// Goal: p99 delay <= 20 ms during loads and saves, and the load with the timer no slower than
// 1.1x the load without it.
// Needs root, dockerd and the built dist of errors, digest, backend, backend-fs, tar-split,
// graphdriver, graphdriver-overlay2, layer, image and archive (`npx turbo run build`).
import { spawnSync } from "node:child_process";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { pipeline } from "node:stream/promises";
import { loadArchive, saveArchive } from "@store/archive";
import { createImageService } from "@store/image";
import { arg, buildBenchImage, makeWorkDir, median, openStores, seconds, startDockerd } from "./archive-support.mjs";

const rounds = arg("rounds", 5);
const tickMs = arg("tick", 10);
const resolution = arg("resolution", 2);
const load1 = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
const loadBefore = load1();

const workDir = await makeWorkDir("event-loop");
const work = workDir.dir;
let dockerd;
let stores;
try {
  dockerd = await startDockerd(work);
  const { docker } = dockerd;
  await buildBenchImage(work, docker, { mib: arg("mib", 190), files: arg("files", 13000) });
  const archive = join(work, "bench.tar");
  docker(["save", "-o", archive, "bench:1"]);
  // A small image that stays in the store the whole run, so inspect always has something to
  // answer and list always has more than the image being loaded.
  const tinyCtx = join(work, "tiny");
  await mkdir(tinyCtx);
  await writeFile(join(tinyCtx, "hello"), "hello\n");
  await writeFile(join(tinyCtx, "Dockerfile"), "FROM scratch\nCOPY hello /hello\n");
  docker(["build", "--network", "none", "-q", "-t", "tiny:1", tinyCtx], { env: { DOCKER_BUILDKIT: "0" } });
  const tinyArchive = join(work, "tiny.tar");
  docker(["save", "-o", tinyArchive, "tiny:1"]);
  // dockerd is not needed any more: stop it so it takes no CPU during the measurements.
  await dockerd.stop();
  dockerd = undefined;

  stores = await openStores(join(work, "ours"));
  const service = createImageService({ images: stores.images, references: stores.references });
  await loadArchive(createReadStream(tinyArchive), stores);

  const settle = () => spawnSync("sync");
  const saved = join(work, "saved.tar");

  // The daemon's side: list + inspect every `tickMs`, each answer timed from the tick.
  const startRequests = () => {
    const answers = [];
    let failures = 0;
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return; // a slow answer is counted once, not stacked
      busy = true;
      const start = process.hrtime.bigint();
      try {
        const rows = service.list();
        if (rows.length === 0) throw new Error("list returned nothing");
        service
          .inspect("tiny:1")
          .then(() => answers.push(Number(process.hrtime.bigint() - start) / 1e6))
          .catch(() => failures++)
          .finally(() => (busy = false));
      } catch {
        failures++;
        busy = false;
      }
    }, tickMs);
    return {
      stop() {
        clearInterval(timer);
        return { answers, failures };
      },
    };
  };

  // One load, one save and the rmi; with `responsive`, the timer runs and each phase's event-loop
  // delay is measured on its own histogram.
  const round = async (responsive) => {
    const out = {};
    for (const phase of ["load", "save"]) {
      settle();
      const histogram = responsive ? monitorEventLoopDelay({ resolution }) : undefined;
      const requests = responsive ? startRequests() : undefined;
      histogram?.enable();
      const start = process.hrtime.bigint();
      if (phase === "load") {
        const result = await loadArchive(createReadStream(archive, { highWaterMark: 1 << 20 }), stores);
        if (result.images.length !== 1) throw new Error(`loaded ${result.images.length} images`);
      } else {
        await pipeline(saveArchive(["bench:1"], stores), createWriteStream(saved, { highWaterMark: 1 << 20 }));
      }
      const s = seconds(start);
      histogram?.disable();
      const served = requests?.stop();
      out[phase] = { s };
      if (histogram) {
        const ms = (ns) => ns / 1e6;
        out[phase].p50 = ms(histogram.percentile(50));
        out[phase].p99 = ms(histogram.percentile(99));
        out[phase].max = ms(histogram.max);
        out[phase].answers = served.answers.length;
        out[phase].failures = served.failures;
        out[phase].slowestAnswer = Math.max(0, ...served.answers);
        // Answers a client would have got in the phase, had the loop never been late.
        out[phase].expected = Math.floor((s * 1000) / tickMs);
      }
    }
    await rm(saved, { force: true });
    await service.remove("bench:1");
    if (stores.layers.map().size !== 1) throw new Error(`rmi left ${stores.layers.map().size - 1} layers of bench:1`);
    return out;
  };

  // Warm-up (page cache, JIT), not counted.
  await round(false);
  await round(true);
  const quiet = [];
  const busy = [];
  for (let i = 0; i < rounds; i++) {
    quiet.push(await round(false));
    busy.push(await round(true));
  }

  const col = (rows, phase, key) => rows.map((r) => r[phase][key]);
  const fmtS = (v) => `median ${median(v).toFixed(3)} s (all ${v.map((s) => s.toFixed(2)).join(" ")})`;
  const fmtMs = (v) => `${median(v).toFixed(1)} ms (all ${v.map((x) => x.toFixed(1)).join(" ")})`;
  console.log(`event loop under load: bench:1 (5 layers, ~190 MB, 13,000 files); ${rounds} rounds, alternating; on ${workDir.fs}`);
  console.log(
    `timer: list + inspect every ${tickMs} ms; monitorEventLoopDelay resolution ${resolution} ms (delays below include it); loadavg before ${loadBefore}, after ${load1()}`,
  );
  for (const phase of ["load", "save"]) {
    const what = phase === "load" ? "loadArchive" : "saveArchive";
    const withTimer = col(busy, phase, "s");
    const without = col(quiet, phase, "s");
    console.log(`${what} without timer : ${fmtS(without)}`);
    console.log(`${what} with timer    : ${fmtS(withTimer)}; ratio ${(median(withTimer) / median(without)).toFixed(2)}x (goal <= 1.1x)`);
    console.log(`  event-loop delay p50 ${fmtMs(col(busy, phase, "p50"))}`);
    console.log(`  event-loop delay p99 ${fmtMs(col(busy, phase, "p99"))} (goal <= 20 ms)`);
    console.log(`  event-loop delay max ${fmtMs(col(busy, phase, "max"))}`);
    const answered = busy.map((r) => `${r[phase].answers}/${r[phase].expected}`).join(" ");
    const failed = col(busy, phase, "failures").reduce((a, b) => a + b, 0);
    console.log(`  list+inspect answered ${answered} (of ticks), slowest answer ${fmtMs(col(busy, phase, "slowestAnswer"))}, failures ${failed}`);
  }
} finally {
  await stores?.close().catch(() => undefined);
  await stores?.layers.driver.cleanup().catch(() => undefined);
  await dockerd?.stop();
  await workDir.dispose();
}
