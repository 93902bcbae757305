#!/usr/bin/env node
// Benchmark (issue 6): open an image store of N images on the fs backend and list it
// (`docker images`), each measurement in a FRESH process, as a daemon start would be; then the
// resident memory per image of an opened store of M images. The comparison with dockerd's own
// `docker images` is added by the lead.
//
// Usage (after building @store/image and its dependencies):
//   node packages/image/bench/open-list.mjs [--images 10000] [--rounds 3] [--memory-images 100000]
// The fake layer store below answers every chain ID (layers are not what is measured here).
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createHash } from "node:crypto";
import { createFsBackend } from "@store/backend-fs";
import { chainIds, digestFromString } from "@store/digest";
import { createImageService, createImageStore, createReferenceStore } from "@store/image";

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const self = fileURLToPath(import.meta.url);

/** Every chain ID exists; one shared handle per chain, as a real layer store keeps one per layer. */
class AnyLayerStore {
  handles = new Map();
  async get(chainId) {
    let h = this.handles.get(chainId.toString());
    if (!h) {
      const diffSize = 1000 + (parseInt(chainId.encoded.slice(0, 4), 16) % 100000);
      h = { chainId, diffId: chainId, parent: undefined, diffSize, size: diffSize, cacheId: chainId.encoded, async *tarStream() {}, metadata: async () => ({}) };
      this.handles.set(chainId.toString(), h);
    }
    return h;
  }
  async release() {
    return [];
  }
}

// A config like dockerd's for a built image: a few shared base layers plus one of its own.
const bases = Array.from({ length: 20 }, (_, i) => digestFromString(`base layer ${i}`));
function configFor(i) {
  const diffIds = [bases[i % bases.length], digestFromString(`layer ${i}`)];
  const created = new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString().replace("Z", "123456Z");
  return Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      config: { Cmd: ["/bin/sh", "-c", `run ${i}`], Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Labels: i % 3 ? { app: `a${i % 50}` } : null, WorkingDir: "/" },
      container: createHash("sha256").update(`c${i}`).digest("hex"),
      created,
      docker_version: "20.10.24",
      history: [
        { created, created_by: "/bin/sh -c #(nop) ADD file:abc in / " },
        { created, created_by: "/bin/sh -c #(nop)  CMD [\"sh\"]", empty_layer: true },
        { created, created_by: `/bin/sh -c run ${i}` },
      ],
      os: "linux",
      rootfs: { type: "layers", diff_ids: diffIds.map(String) },
    }),
  );
}

async function build(root, n) {
  const backend = createFsBackend({ root: join(root, "imagedb") });
  const images = await createImageStore({ backend, layers: new AnyLayerStore() });
  const references = await createReferenceStore({ path: join(root, "repositories.json") });
  const ids = new Array(n);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < n) {
        const i = next++;
        ids[i] = await images.create(configFor(i));
      }
    }),
  );
  // Every 4th image is an intermediate (child of the previous one); two thirds are tagged.
  for (let i = 1; i < n; i += 4) await images.setParent(ids[i], ids[i - 1]);
  const tTags = performance.now();
  // Tags go in through the reference store's own file format, written once (adding 6,000 tags one
  // by one rewrites the file 6,000 times, as dockerd would, and measures nothing of interest here).
  const repos = {};
  for (let i = 0; i < n; i++) {
    if (i % 3 === 2) continue;
    const repo = `team${i % 40}/app${i % 500}`;
    (repos[repo] ??= {})[`${repo}:v${i}`] = ids[i].toString();
  }
  const sorted = (o, f) => `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${f(o[k])}`).join(",")}}`;
  writeFileSync(join(root, "repositories.json"), `{"Repositories":${sorted(repos, (r) => sorted(r, JSON.stringify))}}`, { mode: 0o600 });
  void references;
  return { buildMs: tTags - t0 };
}

async function child(root) {
  const t0 = performance.now();
  const backend = createFsBackend({ root: join(root, "imagedb") });
  const images = await createImageStore({ backend, layers: new AnyLayerStore() });
  const tOpen = performance.now();
  const references = await createReferenceStore({ path: join(root, "repositories.json") });
  const tRefs = performance.now();
  const service = createImageService({ images, references });
  const rows = service.list();
  const tList = performance.now();
  const lists = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    service.list();
    lists.push(performance.now() - t);
  }
  const tAll = performance.now();
  service.list({ all: true, sharedSize: true });
  const allMs = performance.now() - tAll;
  globalThis.gc?.();
  const mem = process.memoryUsage();
  console.log(
    JSON.stringify({
      images: images.len(),
      rows: rows.length,
      problems: images.problems.length,
      openImagesMs: tOpen - t0,
      openReferencesMs: tRefs - tOpen,
      firstListMs: tList - tRefs,
      bestListMs: Math.min(...lists),
      listAllSharedMs: allMs,
      totalMs: tList - t0,
      rss: mem.rss,
      heapUsed: mem.heapUsed,
      external: mem.external,
    }),
  );
}

async function baseline() {
  // The same process without a store: what Node and the modules cost by themselves.
  globalThis.gc?.();
  const mem = process.memoryUsage();
  console.log(JSON.stringify({ rss: mem.rss, heapUsed: mem.heapUsed, external: mem.external }));
}

// The 100,000-image store is written straight in dockerd's layout (config files named by their
// sha256): the same bytes the image store writes, without 200,000 fsyncs.
function writeRaw(root, n) {
  const dir = join(root, "imagedb", "content", "sha256");
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) {
    const bytes = configFor(i);
    writeFileSync(join(dir, createHash("sha256").update(bytes).digest("hex")), bytes, { mode: 0o600 });
  }
  writeFileSync(join(root, "repositories.json"), '{"Repositories":{}}', { mode: 0o600 });
}

function fresh(mode, root) {
  const r = spawnSync(process.execPath, ["--expose-gc", self, "--child", mode, "--root", root], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop());
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => `${x.toFixed(0)} ms`;

async function main() {
  const mode = arg("child");
  if (mode === "open-list") return child(arg("root"));
  if (mode === "baseline") return baseline();

  const n = Number(arg("images", 10000));
  const rounds = Number(arg("rounds", 3));
  const m = Number(arg("memory-images", 100000));
  const root = mkdtempSync(join(tmpdir(), "store-bench-image-"));
  try {
    const small = join(root, "small");
    const { buildMs } = await build(small, n);
    console.log(`built ${n} images on the fs backend through the image store in ${ms(buildMs)}`);
    const runs = Array.from({ length: rounds }, () => fresh("open-list", small));
    const pick = (k) => median(runs.map((r) => r[k]));
    console.log(`fresh process, ${n} images (${runs[0].rows} listed rows), median of ${rounds}:`);
    console.log(`  open image store (restore) ${ms(pick("openImagesMs"))}, reference store ${ms(pick("openReferencesMs"))}`);
    console.log(`  first list ${ms(pick("firstListMs"))}, later lists ${ms(pick("bestListMs"))}, list -a with shared sizes ${ms(pick("listAllSharedMs"))}`);
    console.log(`  open + first list: ${ms(pick("totalMs"))}`);

    const big = join(root, "big");
    const tw = performance.now();
    writeRaw(big, m);
    console.log(`wrote ${m} configs in dockerd's layout in ${ms(performance.now() - tw)}`);
    const base = fresh("baseline", big);
    const loaded = fresh("open-list", big);
    const perImage = (k) => ((loaded[k] - base[k]) / m).toFixed(0);
    console.log(`fresh process, ${m} images: open ${ms(loaded.openImagesMs)}, first list ${ms(loaded.firstListMs)}`);
    console.log(`  resident memory: ${(loaded.rss / 2 ** 20).toFixed(0)} MiB vs ${(base.rss / 2 ** 20).toFixed(0)} MiB without a store`);
    console.log(`  per image: ${perImage("rss")} B resident, ${perImage("heapUsed")} B of JS heap (after GC)`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
