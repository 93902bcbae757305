#!/usr/bin/env node
// Benchmark (issue 5): register a layer of ~100 MB of random data plus 10,000 small files with
// the layer store (decompress-detect, sha256 diffID, tar-split, unpack through overlay2) beside
// GNU `tar -x` of the same tar onto the same disk, alternating, deletes outside the timed part.
// Usage: node bench/layer-register.mjs [--rounds 5] [--mib 100] [--files 10000]
import { spawnSync } from "node:child_process";
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { randomFillSync } from "node:crypto";
import { join } from "node:path";
import { createOverlay2Driver } from "@store/graphdriver-overlay2";
import { createLayerStore } from "@store/layer";

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const rounds = arg("rounds", 5);
const mib = arg("mib", 100);
const files = arg("files", 10000);

const work = await mkdtemp(join(process.env.BENCH_DIR ?? "/var/tmp", "store-bench-layer-"));
try {
  // The input: a tree of big random files and many small ones, tarred once by GNU tar.
  const tree = join(work, "tree");
  await mkdir(join(tree, "big"), { recursive: true });
  const chunk = Buffer.alloc(10 << 20);
  for (let i = 0; i < mib / 10; i++) await writeFile(join(tree, "big", `blob${i}`), randomFillSync(chunk));
  for (let d = 0; d < 100; d++) {
    await mkdir(join(tree, "small", `d${d}`), { recursive: true });
    for (let f = 0; f < files / 100; f++) await writeFile(join(tree, "small", `d${d}`, `f${f}.txt`), `file ${d}/${f}\n`.repeat(1 + (f % 20)));
  }
  const tarFile = join(work, "layer.tar");
  const t = spawnSync("tar", ["-C", tree, "-cf", tarFile, "."]);
  if (t.status !== 0) throw new Error(`tar -c failed: ${t.stderr}`);
  await rm(tree, { recursive: true, force: true });
  const tarBytes = Number(spawnSync("stat", ["-c", "%s", tarFile], { encoding: "utf8" }).stdout.trim());
  const entries = files + mib / 10 + 100 + 3;

  // Flush the previous round's dirty pages (outside the timing), so neither side pays for the
  // other's writeback: on these VMs that alone swings a 10,000-file extraction from 0.2 s to 3 s.
  const settle = () => spawnSync("sync");

  // Each side keeps one long-lived root and removes what it wrote after each round, as a store
  // (and dockerd after `docker rmi`) does. On these VMs a create in never-used block groups costs
  // up to 50x one in groups freed a moment ago, so fresh directories per round would measure the
  // disk's allocation state, not the extractors.
  const storeRoot = join(work, "store-root");
  await mkdir(storeRoot);
  const store = await createLayerStore({ root: storeRoot, driver: await createOverlay2Driver({ home: join(storeRoot, "overlay2") }) });
  const tarRoot = join(work, "tar-root");
  await mkdir(tarRoot);

  const ours = async () => {
    settle();
    const start = process.hrtime.bigint();
    const { layer } = await store.register(createReadStream(tarFile, { highWaterMark: 1 << 20 }));
    const s = Number(process.hrtime.bigint() - start) / 1e9;
    return { s, remove: () => store.release(layer) };
  };
  const gnuTar = async () => {
    const dir = join(tarRoot, "x");
    await mkdir(dir);
    settle();
    const start = process.hrtime.bigint();
    const r = spawnSync("tar", ["-C", dir, "-xf", tarFile]);
    const s = Number(process.hrtime.bigint() - start) / 1e9;
    if (r.status !== 0) throw new Error(`tar -x failed: ${r.stderr}`);
    return { s, remove: () => rm(dir, { recursive: true, force: true }) };
  };

  // Warm-up (page cache, JIT), not counted.
  await (await ours()).remove();
  await (await gnuTar()).remove();
  const a = [];
  const b = [];
  for (let i = 0; i < rounds; i++) {
    const x = await ours();
    await x.remove();
    const y = await gnuTar();
    await y.remove();
    a.push(x.s);
    b.push(y.s);
  }
  const med = (v) => [...v].sort((p, q) => p - q)[Math.floor(v.length / 2)];
  const fmt = (s) => `${(tarBytes / 1e6 / s).toFixed(0)} MB/s, ${(entries / s).toFixed(0)} files/s (${s.toFixed(3)} s)`;
  console.log(`layer: ${(tarBytes / 1e6).toFixed(0)} MB tar, ${entries} entries; ${rounds} rounds, alternating`);
  console.log(`store register (hash + tar-split + unpack): median ${fmt(med(a))}; best ${fmt(Math.min(...a))}`);
  console.log(`GNU tar -x                               : median ${fmt(med(b))}; best ${fmt(Math.min(...b))}`);
  await store.close();
  console.log(`ratio (ours/tar throughput): median ${(med(b) / med(a)).toFixed(2)}x, best ${(Math.min(...b) / Math.min(...a)).toFixed(2)}x (goal >= 0.8x)`);
} finally {
  await rm(work, { recursive: true, force: true });
}
