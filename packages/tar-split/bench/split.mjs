#!/usr/bin/env node
// Throughput of parseTar / splitTar / assembleTar over an in-memory layer (default: 10,000 files,
// ≈100 MB) fed in 64 KiB chunks, beside a bare chunk loop and sha256 for scale. Runs the
// candidates alternately and reports the best of N rounds (the machines here are noisy).
// Build first: (cd packages/tar-split && npx tsup); then: node packages/tar-split/bench/split.mjs [files] [rounds]
import { createHash, randomBytes } from "node:crypto";
import { assembleTar, parseTar, splitTar, writeTar } from "../dist/index.js";

const files = Number(process.argv[2] ?? 10_000);
const rounds = Number(process.argv[3] ?? 5);
const chunkSize = 64 * 1024;

const pool = randomBytes(1 << 20);
const contents = [];
async function* entries() {
  for (let i = 0; i < files; i++) {
    const size = (i * 7919) % 20_000; // 0..20 KB, ≈10 KB average
    const body = pool.subarray((i * 104_729) % (pool.length - size), ((i * 104_729) % (pool.length - size)) + size);
    contents.push(body);
    if (i % 100 === 0) yield { header: { name: `dir${i / 100}/`, type: "directory" } };
    yield { header: { name: `dir${Math.floor(i / 100)}/file-${i}.bin`, type: "file", mtime: new Date(1_700_000_000_000) }, body };
  }
}
const parts = [];
for await (const c of writeTar(entries())) parts.push(c);
const tar = Buffer.concat(parts);
const chunks = [];
for (let i = 0; i < tar.length; i += chunkSize) chunks.push(tar.subarray(i, i + chunkSize));
const mb = tar.length / 1e6;
console.log(`layer: ${mb.toFixed(1)} MB, ${files} files, ${chunks.length} chunks of 64 KiB`);

async function* source() {
  yield* chunks;
}

const candidates = {
  "chunk loop": async () => {
    let n = 0;
    for await (const c of source()) n += c.length;
    return n;
  },
  sha256: async () => {
    const h = createHash("sha256");
    for await (const c of source()) h.update(c);
    return h.digest().length;
  },
  parseTar: async () => {
    let n = 0;
    for await (const e of parseTar(source())) for await (const c of e.body) n += c.length;
    return n;
  },
  "splitTar (bodies read)": async () => {
    const rec = splitTar(source());
    let n = 0;
    for await (const e of rec.entries) for await (const c of e.body) n += c.length;
    return rec.packets().length + n;
  },
  "splitTar + gzip": async () => {
    const rec = splitTar(source());
    for await (const e of rec.entries) for await (const _ of e.body);
    return (await rec.tarSplit()).length;
  },
};

const rec = splitTar(source());
const byName = new Map();
let k = 0;
for await (const e of rec.entries) if (e.header.type === "file") byName.set(e.header.name, contents[k++]);
const packets = rec.packets();
candidates.assembleTar = async () => {
  let n = 0;
  for await (const c of assembleTar(packets, (name) => [byName.get(name)])) n += c.length;
  if (n !== tar.length) throw new Error("assembly size differs");
  return n;
};

const best = Object.fromEntries(Object.keys(candidates).map((k) => [k, Infinity]));
for (let r = 0; r < rounds; r++) {
  for (const [name, fn] of Object.entries(candidates)) {
    const t = performance.now();
    await fn();
    best[name] = Math.min(best[name], performance.now() - t);
  }
}
for (const [name, ms] of Object.entries(best)) {
  console.log(`${name.padEnd(24)} ${ms.toFixed(0).padStart(6)} ms  ${(mb / (ms / 1000)).toFixed(0).padStart(6)} MB/s`);
}
