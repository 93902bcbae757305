#!/usr/bin/env node
// Benchmark: our loadArchive into a fresh root vs `docker load -i` into a dockerd after
// `docker rmi`, on the same `docker save` archive of a ~190 MB, 13,000-file, 5-layer image built
// by that dockerd; alternating, deletes outside the timed part; medians and the ratio. A third
// column times the layer store alone registering the same layer tars (the floor for our load);
// a fourth the `store load` command as a user runs it.
// Runs on a fresh loop-mounted ext4 of its own (see makeWorkDir in archive-support.mjs).
// Usage: node bench/archive-load.mjs [--rounds 5] [--mib 190] [--files 13000] [--host-fs]
// Needs root, dockerd and the built dist of errors, digest, backend, backend-fs, tar-split,
// graphdriver, graphdriver-overlay2, layer, image and archive (tsup).
import { createReadStream, readdirSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { mkdir, readFile, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { loadArchive } from "@store/archive";
import { createImageService } from "@store/image";
import { arg, buildBenchImage, makeWorkDir, median, openStores, seconds, startDockerd, storeCommand } from "./archive-support.mjs";

const rounds = arg("rounds", 5);
const workDir = await makeWorkDir("archive-load");
const work = workDir.dir;
let dockerd;
try {
  dockerd = await startDockerd(work);
  const { docker } = dockerd;
  const id = await buildBenchImage(work, docker, { mib: arg("mib", 190), files: arg("files", 13000) });
  const archive = join(work, "bench.tar");
  docker(["save", "-o", archive, "bench:1"]);
  const size = (await stat(archive)).size;

  // Flush earlier rounds' writes and deletes outside the timing: on these VMs writeback left
  // over from the previous step otherwise lands on whichever side runs next.
  const settle = () => spawnSync("sync");

  // Our side keeps one long-lived root and removes the image after each round (`store rmi`),
  // as dockerd does with `docker rmi`: both sides then load into a root of the same age.
  const ourRoot = join(work, "ours");
  const stores = await openStores(ourRoot);
  const service = createImageService({ images: stores.images, references: stores.references });
  const ours = async () => {
    settle();
    const start = process.hrtime.bigint();
    const result = await loadArchive(createReadStream(archive, { highWaterMark: 1 << 20 }), stores);
    const s = seconds(start);
    if (result.images[0].id.toString() !== id) throw new Error(`we loaded ${result.images[0].id}, dockerd built ${id}`);
    await service.remove("bench:1");
    if (stores.layers.map().size !== 0) {
      for (const [k, l] of stores.layers.map())
        console.error("left", k.slice(7, 19), "parent", l.parent?.chainId.toString().slice(7, 19), "diff", l.diffId.toString().slice(7, 19));
      console.error("images left", stores.images.len());
      throw new Error(`rmi left ${stores.layers.map().size} layers in our store`);
    }
    return { s };
  };
  // The floor for any loader on these stores: the same layer tars, already extracted from the
  // archive (outside the timing), registered one after another straight into the layer store.
  const extracted = join(work, "extracted");
  await mkdir(extracted);
  if (spawnSync("tar", ["-C", extracted, "-xf", archive]).status !== 0) throw new Error("tar -x of the archive failed");
  const manifest = JSON.parse(await readFile(join(extracted, "manifest.json"), "utf8"))[0];
  const registerOnly = async () => {
    settle();
    const start = process.hrtime.bigint();
    const held = [];
    for (const layer of manifest.Layers) {
      held.push((await stores.layers.register(createReadStream(join(extracted, layer), { highWaterMark: 1 << 20 }), held.at(-1)?.chainId)).layer);
    }
    const s = seconds(start);
    // Every register returned a handle: release them all, top first, so the chain goes away.
    for (const layer of held.reverse()) await stores.layers.release(layer);
    if (stores.layers.map().size !== 0) throw new Error(`register round left ${stores.layers.map().size} layers`);
    return { s };
  };
  // The `store` command itself, as a user runs it: a fresh process (node start and module load
  // counted, as docker's client start is) on a root of its own, `store rmi` between rounds.
  const cliRoot = join(work, "cli");
  const store = storeCommand(cliRoot);
  const cli = () => {
    settle();
    const start = process.hrtime.bigint();
    store(["load", "-i", archive]);
    const s = seconds(start);
    store(["rmi", "bench:1"]);
    const left = readdirSync(join(cliRoot, "image", "overlay2", "layerdb", "sha256"));
    if (left.length > 0) throw new Error(`store rmi left ${left.length} layers`);
    return { s };
  };
  const theirs = () => {
    docker(["rmi", "bench:1"]);
    // moby's load skips layers it still has: the comparison is only fair if none is left.
    return readdir(join(dockerd.root, "image", "overlay2", "layerdb", "sha256")).then((left) => {
      if (left.length > 0) throw new Error(`dockerd still holds ${left.length} layers after rmi; docker load would skip them`);
      settle();
      return timedDockerLoad();
    });
  };
  const timedDockerLoad = () => {
    const start = process.hrtime.bigint();
    docker(["load", "-q", "-i", archive]);
    return { s: seconds(start) };
  };

  // Warm-up (page cache, JIT, dockerd), not counted.
  await ours();
  await theirs();
  cli();
  const a = [];
  const b = [];
  const c = [];
  const d = [];
  for (let i = 0; i < rounds; i++) {
    const x = await ours();
    const y = await theirs();
    const z = await registerOnly();
    const w = cli();
    a.push(x.s);
    b.push(y.s);
    c.push(z.s);
    d.push(w.s);
  }
  const fmt = (s) => `${s.toFixed(3)} s (${(size / 1e6 / s).toFixed(0)} MB/s)`;
  console.log(`archive: ${(size / 1e6).toFixed(0)} MB docker save of bench:1 (5 layers); ${rounds} rounds, alternating, on ${workDir.fs}`);
  console.log(`loadArchive : median ${fmt(median(a))}; best ${fmt(Math.min(...a))}; all ${a.map((s) => s.toFixed(2)).join(" ")}`);
  console.log(`docker load : median ${fmt(median(b))}; best ${fmt(Math.min(...b))}; all ${b.map((s) => s.toFixed(2)).join(" ")}`);
  console.log(
    `register x5 : median ${fmt(median(c))}; best ${fmt(Math.min(...c))}; all ${c.map((s) => s.toFixed(2)).join(" ")} (layer store alone, from extracted tars)`,
  );
  console.log(
    `store load  : median ${fmt(median(d))}; best ${fmt(Math.min(...d))}; all ${d.map((s) => s.toFixed(2)).join(" ")} (the CLI, a fresh process each time)`,
  );
  console.log(`ratio (loadArchive / docker load): median ${(median(a) / median(b)).toFixed(2)}x, best ${(Math.min(...a) / Math.min(...b)).toFixed(2)}x`);
  console.log(
    `ratio (store load / docker load): median ${(median(d) / median(b)).toFixed(2)}x, best ${(Math.min(...d) / Math.min(...b)).toFixed(2)}x (goal <= 0.7x)`,
  );
} finally {
  await dockerd?.stop();
  await workDir.dispose();
}
