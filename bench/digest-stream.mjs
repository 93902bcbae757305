#!/usr/bin/env node
// Benchmark (issue 2): digestStream over a 512 MiB file vs `openssl dgst -sha256`, same file,
// same run, alternating; prints each side's best and median throughput and the ratio.
// Usage: node bench/digest-stream.mjs [--mib 512] [--rounds 5]
import { spawnSync } from "node:child_process";
import { createReadStream, mkdirSync, rmSync, openSync, closeSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomFillSync } from "node:crypto";
import { digestStream } from "@store/digest";

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const mib = arg("mib", 512);
const rounds = arg("rounds", 5);
const dir = join(tmpdir(), `store-bench-digest-${process.pid}`);
mkdirSync(dir, { recursive: true });
const file = join(dir, "blob");
try {
  const fd = openSync(file, "w");
  const chunk = Buffer.alloc(16 << 20);
  for (let i = 0; i < mib / 16; i++) writeSync(fd, randomFillSync(chunk));
  closeSync(fd);
  const bytes = mib * 1024 * 1024;

  const ours = async () => {
    const t = process.hrtime.bigint();
    const d = await digestStream(createReadStream(file, { highWaterMark: 1 << 20 }));
    return { s: Number(process.hrtime.bigint() - t) / 1e9, hex: d.encoded };
  };
  const openssl = () => {
    const t = process.hrtime.bigint();
    const r = spawnSync("openssl", ["dgst", "-sha256", "-r", file], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
    return { s: Number(process.hrtime.bigint() - t) / 1e9, hex: r.stdout.split(" ")[0] };
  };

  // Warm the page cache once so both sides read from memory.
  await ours();
  const a = [];
  const b = [];
  for (let i = 0; i < rounds; i++) {
    const x = await ours();
    const y = openssl();
    if (x.hex !== y.hex) throw new Error(`digests differ: ${x.hex} vs ${y.hex}`);
    a.push(x.s);
    b.push(y.s);
  }
  const med = (v) => [...v].sort((p, q) => p - q)[Math.floor(v.length / 2)];
  const mbps = (s) => (bytes / 1e6 / s).toFixed(0);
  console.log(`digestStream(sha256)  ${mib} MiB: best ${mbps(Math.min(...a))} MB/s, median ${mbps(med(a))} MB/s`);
  console.log(`openssl dgst -sha256  ${mib} MiB: best ${mbps(Math.min(...b))} MB/s, median ${mbps(med(b))} MB/s`);
  console.log(
    `ratio (ours/openssl throughput): best ${(Math.min(...b) / Math.min(...a)).toFixed(2)}x, median ${(med(b) / med(a)).toFixed(2)}x (goal >= 0.95x)`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
