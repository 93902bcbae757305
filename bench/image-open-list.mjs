#!/usr/bin/env node
// Benchmark (issue 6 item 7): `docker images` over 10,000 images — our open + list in a FRESH
// process (node running the built dist: overlay2 layer store, fs image store, reference store,
// list) beside dockerd answering `docker images` on the same root, alternating, same run. The
// root is valid for dockerd: a few real layers (imported and built by dockerd itself: layerdb
// and overlay2 dirs), 10,000 distinct configs on them written straight into imagedb, every 4th
// a child of the one before, two thirds tagged. dockerd's startup on that root is timed apart.
// Our side runs three ways: the fs backend as is (which reads small files synchronously itself);
// given an fs whose readFile is readFileSync (the two now take the same path); with that and
// the image store's opt-in record cache; and the `store images` command itself. Then resident
// memory per image of our opened store at 100,000 images.
//
// Usage (root, dockerd, after building what it imports:
//   for p in errors internal digest backend backend-fs metadata tar-split graphdriver graphdriver-overlay2 layer reference distribution image; do (cd packages/$p && npx tsup); done):
//   node bench/image-open-list.mjs [--images 10000] [--rounds 5] [--memory-images 100000] [--keep]
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ping } from "./daemon-support.mjs";

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const self = fileURLToPath(import.meta.url);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => `${x.toFixed(0)} ms`;

// ---------------------------------------------------------------- our side, in a fresh process

/** The stamp `@store/service` gives the record cache for an fs imagedb (its fsConfigStamp). */
function configStamp(imagedb, statSync) {
  return (id) => {
    const s = statSync(join(imagedb, "content", id.algorithm, id.encoded), { bigint: true, throwIfNoEntry: false });
    return s === undefined ? undefined : `${s.size}.${s.ino}.${s.mtimeNs}.${s.ctimeNs}`;
  };
}

async function child(root, imagedb, repositories, reads) {
  const started = performance.now(); // since process start: node + module loading
  const { createOverlay2Driver } = await import("@store/graphdriver-overlay2");
  const { createLayerStore } = await import("@store/layer");
  const { createFsBackend } = await import("@store/backend-fs");
  const { createImageService, createImageStore } = await import("@store/image");
  const { createFsMetadataStore } = await import("@store/metadata");
  const { createReferenceStore } = await import("@store/reference");
  const t0 = performance.now();
  const layers = await createLayerStore({ root, driver: await createOverlay2Driver({ home: join(root, "overlay2") }) });
  const tLayers = performance.now();
  const cpu0 = process.cpuUsage();
  // `sync`: the fs backend given node:fs/promises with readFile done by readFileSync (its `fs`
  // option). fs/promises' readFile is four thread-pool round trips per file (open, fstat, read,
  // close); for 10,000 small configs that costs 5-7x the reads themselves on this machine.
  // readFileSync is taken once: an import() per read cost ~10 µs each, 2,500 parent reads alone
  // ~25 ms of the cached open, which no caller of the store would pay.
  const { readFileSync, statSync } = await import("node:fs");
  const fs = reads === "sync" || reads === "cache" ? { ...(await import("node:fs/promises")), readFile: async (path) => readFileSync(path) } : undefined;
  // `cache`: synchronous small reads, plus the image store's opt-in record cache beside imagedb
  // (written by the warm-up run; later opens read it instead of every config).
  const recordCache = reads === "cache" ? createFsMetadataStore({ root: join(imagedb, "..") }) : undefined;
  const images = await createImageStore({
    backend: createFsBackend({ root: imagedb, fs }),
    layers,
    recordCache,
    recordCacheKey: "store-cache/image-records.json",
    // As `@store/service` opens an fs imagedb: a cached entry is trusted only while its config
    // file's stat (size, inode, mtime, ctime) is unchanged, one statSync per config.
    ...(recordCache ? { configStamp: configStamp(imagedb, statSync) } : {}),
  });
  const tImages = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const references = await createReferenceStore({ path: repositories });
  const tRefs = performance.now();
  const rows = createImageService({ images, references }).list();
  // What `docker images` prints: one line per tag, untagged heads as <none>.
  const lines = ["REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE"];
  for (const r of rows) {
    for (const t of r.RepoTags) {
      const i = t.lastIndexOf(":");
      lines.push(`${t.slice(0, i)}\t${t.slice(i + 1)}\t${r.Id.slice(7, 19)}\t${r.Created}\t${r.Size}`);
    }
  }
  process.stdout.write(`${lines.join("\n")}\n`);
  const tList = performance.now();
  globalThis.gc?.();
  const mem = process.memoryUsage();
  process.stderr.write(
    `#stats ${JSON.stringify({
      images: images.len(),
      problems: images.problems.length + layers.problems.length,
      lines: lines.length - 1,
      loadMs: t0 - started,
      startMs: started,
      layersMs: tLayers - t0,
      imagesMs: tImages - tLayers,
      imagesCpuMs: (cpu.user + cpu.system) / 1000,
      refsMs: tRefs - tImages,
      listMs: tList - tRefs,
      rss: mem.rss,
      heapUsed: mem.heapUsed,
    })}\n`,
  );
}

function ours(root, imagedb, repositories, reads, extra = []) {
  const t = performance.now();
  const r = spawnSync(process.execPath, [...extra, self, "--child", root, imagedb, repositories, reads], { encoding: "utf8", maxBuffer: 1 << 28 });
  const wall = performance.now() - t;
  if (r.status !== 0) throw new Error(`our child failed: ${r.stderr}`);
  const stats = JSON.parse(
    r.stderr
      .split("\n")
      .find((l) => l.startsWith("#stats "))
      .slice(7),
  );
  return { wall, ...stats };
}

// ---------------------------------------------------------------- dockerd (as peers.md starts it)

const DEAD_PROXY = "http://127.0.0.1:9";

export async function startDockerd(dir) {
  const socket = join(dir, "docker.sock");
  const env = {
    ...process.env,
    DOCKER_HOST: `unix://${socket}`,
    DOCKER_CONFIG: join(dir, "client"),
    HTTP_PROXY: DEAD_PROXY,
    HTTPS_PROXY: DEAD_PROXY,
    NO_PROXY: "localhost,127.0.0.1",
  };
  mkdirSync(join(dir, "client"), { recursive: true });
  const log = openSync(join(dir, "dockerd.log"), "a");
  const t = performance.now();
  const p = spawn(
    "dockerd",
    [
      "--data-root",
      join(dir, "root"),
      "--exec-root",
      join(dir, "exec"),
      "--pidfile",
      join(dir, "dockerd.pid"),
      "--host",
      env.DOCKER_HOST,
      "--storage-driver",
      "overlay2",
      "--iptables=false",
      "--bridge=none",
      "--ip-forward=false",
    ],
    { stdio: ["ignore", log, log], env },
  );
  closeSync(log);
  const exited = new Promise((r) => p.once("exit", r));
  for (;;) {
    if (p.exitCode !== null) throw new Error(`dockerd exited: ${readFileSync(join(dir, "dockerd.log"), "utf8").slice(-2000)}`);
    if (await ping(socket)) break;
    if (performance.now() - t > 120_000) throw new Error("dockerd did not start in 120 s");
    await new Promise((r) => setTimeout(r, 10));
  }
  const startMs = performance.now() - t;
  const docker = (args, input) => {
    const r = spawnSync("docker", args, { env: { ...env, DOCKER_BUILDKIT: "0" }, input, encoding: "utf8", maxBuffer: 1 << 28 });
    if (r.status !== 0) throw new Error(`docker ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const stop = async () => {
    p.kill("SIGTERM");
    await exited;
    for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
      const m = line.split(" ")[4];
      if (m?.startsWith(`${dir}/`)) spawnSync("umount", ["-l", m]);
    }
  };
  return { startMs, docker, stop, env };
}

// ---------------------------------------------------------------- the root

const tarOf = (dir, files) => {
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return spawnSync("tar", ["-C", dir, "--numeric-owner", "-c", "."], { maxBuffer: 1 << 26 }).stdout;
};

/** Real layers made by dockerd: a few imported single layers and one two-layer chain built on one. */
export function makeLayers(work, d) {
  const stacks = [];
  for (let k = 0; k < 3; k++) {
    d.docker(["import", "-", `base${k}:1`], tarOf(join(work, `tar${k}`), { [`file${k}`]: `layer ${k}\n`.repeat(100 * (k + 1)) }));
  }
  const ctx = join(work, "ctx");
  mkdirSync(ctx, { recursive: true });
  writeFileSync(join(ctx, "Dockerfile"), "FROM base0:1\nCOPY extra /extra\n");
  writeFileSync(join(ctx, "extra"), "x".repeat(5000));
  d.docker(["build", "-q", "-t", "chain:1", ctx]);
  for (const name of ["base0:1", "base1:1", "base2:1", "chain:1"]) {
    stacks.push(JSON.parse(d.docker(["image", "inspect", "-f", "{{json .RootFS.Layers}}", name])));
  }
  return stacks;
}

function configFor(i, stacks) {
  const created = new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString().replace("Z", "123456Z");
  return Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      config: {
        Cmd: ["/bin/sh", "-c", `run ${i}`],
        Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        Labels: i % 3 ? { app: `a${i % 50}` } : null,
        WorkingDir: "/",
      },
      container: createHash("sha256").update(`c${i}`).digest("hex"),
      created,
      docker_version: "20.10.24",
      history: [
        { created, created_by: "/bin/sh -c #(nop) ADD file:abc in / " },
        { created, created_by: `/bin/sh -c #(nop)  CMD ["run ${i}"]`, empty_layer: true },
      ],
      os: "linux",
      rootfs: { type: "layers", diff_ids: stacks[i % stacks.length] },
    }),
  );
}

/** n configs straight into dockerd's imagedb layout (0700 dirs, 0600 files), parents, tags. */
export function writeImages(imagedb, repositoriesPath, n, stacks) {
  const content = join(imagedb, "content", "sha256");
  mkdirSync(content, { recursive: true, mode: 0o700 });
  const ids = new Array(n);
  for (let i = 0; i < n; i++) {
    const bytes = configFor(i, stacks);
    ids[i] = createHash("sha256").update(bytes).digest("hex");
    writeFileSync(join(content, ids[i]), bytes, { mode: 0o600 });
  }
  for (let i = 1; i < n; i += 4) {
    const dir = join(imagedb, "metadata", "sha256", ids[i]);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, "parent"), `sha256:${ids[i - 1]}`, { mode: 0o600 });
  }
  const existing = existsSync(repositoriesPath) ? JSON.parse(readFileSync(repositoriesPath, "utf8")).Repositories : {};
  const repos = { ...existing };
  for (let i = 0; i < n; i++) {
    if (i % 3 === 2) continue;
    const repo = `team${i % 40}/app${i % 500}`;
    (repos[repo] ??= {})[`${repo}:v${i}`] = `sha256:${ids[i]}`;
  }
  const sorted = (o, f) =>
    `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${f(o[k])}`)
      .join(",")}}`;
  writeFileSync(repositoriesPath, `{"Repositories":${sorted(repos, (r) => sorted(r, JSON.stringify))}}`, { mode: 0o600 });
}

// ---------------------------------------------------------------- main

async function main() {
  if (arg("child") !== undefined) {
    const i = process.argv.indexOf("--child");
    return child(...process.argv.slice(i + 1, i + 5));
  }
  const n = Number(arg("images", 10000));
  const rounds = Number(arg("rounds", 5));
  const m = Number(arg("memory-images", 100000));
  const work = await mkdtemp(join(process.env.BENCH_DIR ?? "/var/tmp", "store-bench-image-"));
  let d;
  try {
    const root = join(work, "root");
    const image = join(root, "image", "overlay2");
    d = await startDockerd(work);
    const stacks = makeLayers(work, d);
    await d.stop();
    const tw = performance.now();
    writeImages(join(image, "imagedb"), join(image, "repositories.json"), n, stacks);
    console.log(`root: ${stacks.length} real layer stacks from dockerd, ${n} configs written in dockerd's layout in ${ms(performance.now() - tw)}`);

    const starts = [];
    d = await startDockerd(work);
    starts.push(d.startMs);
    const dockerImages = () => {
      const t = performance.now();
      const out = d.docker(["images"]);
      return { wall: performance.now() - t, lines: out.trim().split("\n").length - 1 };
    };
    const oursNow = (reads) => ours(root, join(image, "imagedb"), join(image, "repositories.json"), reads);
    // The `store images` command as a user runs it (record cache on by default, the table printed).
    const storeBin = fileURLToPath(new URL("../apps/cli/bin/store.js", import.meta.url));
    const storeImages = () => {
      const t = performance.now();
      const r = spawnSync(process.execPath, [storeBin, "--root", root, "images"], { maxBuffer: 1 << 28 });
      const wall = performance.now() - t;
      if (r.status !== 0) throw new Error(`store images: ${r.stderr}`);
      return { wall, lines: r.stdout.toString().trim().split("\n").length - 1 };
    };
    // Warm-up of each side (page cache, dockerd's first listing), not counted.
    const wd = dockerImages();
    for (const reads of ["async", "sync", "cache"]) {
      const w = oursNow(reads);
      if (w.lines !== wd.lines || w.problems !== 0) throw new Error(`listings differ: ours ${w.lines} lines (${w.problems} problems), docker ${wd.lines}`);
    }
    const ws = storeImages();
    if (ws.lines !== wd.lines) throw new Error(`listings differ: store images ${ws.lines} lines, docker ${wd.lines}`);
    const sides = { async: [], sync: [], cache: [], docker: [], cli: [] };
    for (let i = 0; i < rounds; i++) {
      sides.async.push(oursNow("async"));
      sides.docker.push(dockerImages());
      sides.sync.push(oursNow("sync"));
      sides.cache.push(oursNow("cache"));
      sides.cli.push(storeImages());
    }
    await d.stop();
    for (let i = 0; i < 2; i++) {
      d = await startDockerd(work);
      starts.push(d.startMs);
      await d.stop();
    }
    d = undefined;

    const docker = median(sides.docker.map((r) => r.wall));
    const dockerBest = Math.min(...sides.docker.map((r) => r.wall));
    console.log(`${n} images, ${wd.lines} lines listed by both; ${rounds} rounds alternating, medians (best):`);
    console.log(
      `  dockerd: \`docker images\` ${ms(docker)} (${ms(dockerBest)}) wall; dockerd startup on this root ${ms(median(starts))} (${starts.map((s) => s.toFixed(0)).join(", ")} ms)`,
    );
    for (const [reads, label] of [
      ["async", "fs backend as is (its default fs reads small files with readFileSync), every config read and verified"],
      ["sync", "fs backend given fs/promises with readFile done by readFileSync, every config read and verified"],
      ["cache", "synchronous small reads + record cache checked by one stat per config (unchanged configs verified when read)"],
    ]) {
      const runs = sides[reads];
      const pick = (k) => median(runs.map((r) => r[k]));
      const best = Math.min(...runs.map((r) => r.wall));
      console.log(
        `  ours, fresh process, open + list, ${label}: ${ms(pick("wall"))} (${ms(best)}) wall; ratio to docker images ${(pick("wall") / docker).toFixed(2)}x median, ${(best / dockerBest).toFixed(2)}x best (goal <= 0.5x)`,
      );
      console.log(
        `    node start ${ms(pick("startMs"))}, module load ${ms(pick("loadMs"))}, layer store ${ms(pick("layersMs"))}, image store (restore) ${ms(pick("imagesMs"))} (${ms(pick("imagesCpuMs"))} of CPU), references ${ms(pick("refsMs"))}, list + print ${ms(pick("listMs"))}`,
      );
    }

    const cli = median(sides.cli.map((r) => r.wall));
    const cliBest = Math.min(...sides.cli.map((r) => r.wall));
    console.log(
      `  \`store images\` (the CLI, a fresh process, record cache on by default): ${ms(cli)} (${ms(cliBest)}) wall; ratio to docker images ${(cli / docker).toFixed(2)}x median, ${(cliBest / dockerBest).toFixed(2)}x best (goal <= 0.5x)`,
    );

    if (m > 0) {
      const big = join(image, "imagedb-memory");
      const bigRepos = join(image, "repositories-memory.json");
      const tb = performance.now();
      writeImages(big, bigRepos, m, stacks);
      console.log(`memory: ${m} configs written in ${ms(performance.now() - tb)}`);
      const emptyDb = join(image, "imagedb-empty");
      mkdirSync(emptyDb);
      writeFileSync(join(image, "repositories-empty.json"), '{"Repositories":{}}');
      const base = ours(root, emptyDb, join(image, "repositories-empty.json"), "sync", ["--expose-gc"]);
      const loaded = ours(root, big, bigRepos, "sync", ["--expose-gc"]);
      console.log(`  fresh process, ${m} images: open + list ${ms(loaded.wall)} wall (restore ${ms(loaded.imagesMs)}, list ${ms(loaded.listMs)})`);
      console.log(
        `  resident ${(loaded.rss / 2 ** 20).toFixed(0)} MiB vs ${(base.rss / 2 ** 20).toFixed(0)} MiB with an empty store: ${((loaded.rss - base.rss) / m).toFixed(0)} B per image (${((loaded.heapUsed - base.heapUsed) / m).toFixed(0)} B of JS heap after GC)`,
      );
    }
  } finally {
    if (d) await d.stop().catch(() => undefined);
    if (process.argv.includes("--keep"))
      console.log(
        `kept ${work} (profile a child: node --cpu-prof ${self} --child ${work}/root ${work}/root/image/overlay2/imagedb ${work}/root/image/overlay2/repositories.json)`,
      );
    else await rm(work, { recursive: true, force: true });
  }
}

// Imported by bench/daemon-images.mjs for its root: run only when executed.
if (process.argv[1] === self) await main();
