#!/usr/bin/env node
// Benchmark (issues 12 and 15): the layer store's decompressors beside the system tools on the
// same data, alternating: zstdDecompress (zstd's streaming decoder, WebAssembly) vs `zstd -d`,
// and decompressAs("gzip") (Node's zlib) vs `gzip -d`. Output is read to its end and dropped on
// both sides. The input is a tar of /usr (binaries, libraries, text: what layers hold), cut at
// --mib MiB, compressed once by zstd -3 and gzip -6 (the tools' and dockerd's defaults).
// Usage: node bench/decompress.mjs [--rounds 5] [--mib 256]
import { spawnSync } from "node:child_process";
import { createReadStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { decompressAs, zstdDecompress } from "@store/layer";

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const rounds = arg("rounds", 5);
const mib = arg("mib", 256);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const work = await mkdtemp(join(process.env.BENCH_DIR ?? "/var/tmp", "store-bench-decompress-"));
try {
  const tar = join(work, "data.tar");
  const sh = (script) => {
    const r = spawnSync("bash", ["-c", script], { stdio: ["ignore", "ignore", "inherit"] });
    if (r.status !== 0) throw new Error(`failed: ${script}`);
  };
  sh(`tar -cf - -C / usr 2>/dev/null | head -c ${mib << 20} > ${tar}`);
  sh(`zstd -q -3 -c ${tar} > ${tar}.zst && gzip -6 -c ${tar} > ${tar}.gz`);
  const size = (await stat(tar)).size;
  const mb = size / 1e6;
  console.log(
    `input: ${mb.toFixed(0)} MB tar; zstd ${((await stat(`${tar}.zst`)).size / 1e6).toFixed(0)} MB, gzip ${((await stat(`${tar}.gz`)).size / 1e6).toFixed(0)} MB`,
  );

  const drain = async (chunks) => {
    let n = 0;
    for await (const c of chunks) n += c.byteLength;
    if (n !== size) throw new Error(`decompressed ${n} bytes, expected ${size}`);
  };
  const read = (file) => createReadStream(file, { highWaterMark: 1 << 20 });
  const sides = {
    zstdDecompress: () => drain(zstdDecompress(read(`${tar}.zst`))),
    "zstd -d": async () => sh(`zstd -q -d -c ${tar}.zst > /dev/null`),
    "gunzip (node)": () => drain(decompressAs("gzip", read(`${tar}.gz`))),
    "gzip -d": async () => sh(`gzip -d -c ${tar}.gz > /dev/null`),
  };
  const times = Object.fromEntries(Object.keys(sides).map((k) => [k, []]));
  await sides.zstdDecompress(); // warm: page cache and the WebAssembly compile, on both sides' input
  await sides["gunzip (node)"]();
  for (let r = 0; r < rounds; r++) {
    for (const [name, run] of Object.entries(sides)) {
      const t = performance.now();
      await run();
      times[name].push((performance.now() - t) / 1000);
    }
  }
  const row = (name) => {
    const s = median(times[name]);
    return `${name.padEnd(16)} ${s.toFixed(3)} s  ${(mb / s).toFixed(0).padStart(5)} MB/s of output`;
  };
  console.log(`medians of ${rounds} alternating rounds:`);
  for (const name of Object.keys(sides)) console.log(`  ${row(name)}`);
  console.log(`zstd: ours / zstd -d = ${(median(times.zstdDecompress) / median(times["zstd -d"])).toFixed(2)}x the time`);
  console.log(`gzip: ours / gzip -d = ${(median(times["gunzip (node)"]) / median(times["gzip -d"])).toFixed(2)}x the time`);
} finally {
  await rm(work, { recursive: true, force: true });
}
