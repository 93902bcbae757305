#!/usr/bin/env node
// Benchmark: our saveArchive vs `docker save -o`, both writing the same ~190 MB, 13,000-file,
// 5-layer image (built by that dockerd, loaded into our store from its `docker save`) to a file
// on the same disk; alternating, deletes outside the timed part; medians and the ratio. Our
// output is checked to be byte-identical to dockerd's. A third column times the `store save`
// command as a user runs it.
// Runs on a fresh loop-mounted ext4 of its own (see makeWorkDir in archive-support.mjs).
// Usage: node bench/archive-save.mjs [--rounds 5] [--mib 190] [--files 13000] [--host-fs]
// Needs root, dockerd and the built dist of errors, digest, backend, backend-fs, tar-split,
// graphdriver, graphdriver-overlay2, layer, image and archive (tsup).
import { createReadStream, createWriteStream } from "node:fs";
import { readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { loadArchive, saveArchive } from "@store/archive";
import { arg, buildBenchImage, makeWorkDir, median, openStores, seconds, startDockerd, storeCommand } from "./archive-support.mjs";

const rounds = arg("rounds", 5);
const workDir = await makeWorkDir("archive-save");
const work = workDir.dir;
let dockerd;
let stores;
try {
  dockerd = await startDockerd(work);
  const { docker } = dockerd;
  await buildBenchImage(work, docker, { mib: arg("mib", 190), files: arg("files", 13000) });
  const source = join(work, "source.tar");
  docker(["save", "-o", source, "bench:1"]);
  stores = await openStores(join(work, "ours"));
  await loadArchive(createReadStream(source, { highWaterMark: 1 << 20 }), stores);
  // The `store save` command on a root of its own holding the same image.
  const store = storeCommand(join(work, "cli"));
  store(["load", "-i", source]);
  await rm(source);

  const ours = async (i) => {
    const out = join(work, `ours${i}.tar`);
    const start = process.hrtime.bigint();
    await pipeline(saveArchive(["bench:1"], stores), createWriteStream(out, { highWaterMark: 1 << 20 }));
    return { s: seconds(start), out };
  };
  const cli = (i) => {
    const out = join(work, `cli${i}.tar`);
    const start = process.hrtime.bigint();
    store(["save", "-o", out, "bench:1"]);
    return { s: seconds(start), out };
  };
  const theirs = (i) => {
    const out = join(work, `theirs${i}.tar`);
    const start = process.hrtime.bigint();
    docker(["save", "-o", out, "bench:1"]);
    return { s: seconds(start), out };
  };

  // Warm-up, not counted; also the check that both write the same bytes.
  const w1 = await ours("w");
  const w2 = theirs("w");
  const w3 = cli("w");
  const theirBytes = await readFile(w2.out);
  const same = (await readFile(w1.out)).equals(theirBytes) && (await readFile(w3.out)).equals(theirBytes);
  const size = (await stat(w1.out)).size;
  for (const w of [w1, w2, w3]) await rm(w.out);
  const a = [];
  const b = [];
  const c = [];
  for (let i = 0; i < rounds; i++) {
    const x = await ours(i);
    const y = theirs(i);
    const z = cli(i);
    a.push(x.s);
    b.push(y.s);
    c.push(z.s);
    for (const r of [x, y, z]) await rm(r.out);
  }
  const fmt = (s) => `${s.toFixed(3)} s (${(size / 1e6 / s).toFixed(0)} MB/s)`;
  console.log(
    `archive: ${(size / 1e6).toFixed(0)} MB, bench:1 (5 layers); byte-identical to docker save: ${same}; ${rounds} rounds, alternating, on ${workDir.fs}`,
  );
  console.log(`saveArchive : median ${fmt(median(a))}; best ${fmt(Math.min(...a))}; all ${a.map((s) => s.toFixed(2)).join(" ")}`);
  console.log(`docker save : median ${fmt(median(b))}; best ${fmt(Math.min(...b))}; all ${b.map((s) => s.toFixed(2)).join(" ")}`);
  console.log(
    `store save  : median ${fmt(median(c))}; best ${fmt(Math.min(...c))}; all ${c.map((s) => s.toFixed(2)).join(" ")} (the CLI, a fresh process each time)`,
  );
  console.log(`ratio (saveArchive / docker save): median ${(median(a) / median(b)).toFixed(2)}x, best ${(Math.min(...a) / Math.min(...b)).toFixed(2)}x`);
  console.log(
    `ratio (store save / docker save): median ${(median(c) / median(b)).toFixed(2)}x, best ${(Math.min(...c) / Math.min(...b)).toFixed(2)}x (goal <= 0.7x)`,
  );
} finally {
  await stores?.close();
  await dockerd?.stop();
  await workDir.dispose();
}
