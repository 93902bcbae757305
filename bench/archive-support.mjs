// Shared by bench/archive-load.mjs and bench/archive-save.mjs: a dockerd of their own (temp dir,
// unix socket, no network, stopped by PID), the benchmark image built with it, fresh stores, and
// timing helpers. Not a benchmark itself.
import { spawn, spawnSync } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { existsSync, openSync, closeSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createFsBackend } from "@store/backend-fs";
import { createOverlay2Driver } from "@store/graphdriver-overlay2";
import { createImageStore } from "@store/image";
import { createReferenceStore } from "@store/reference";
import { createLayerStore } from "@store/layer";

export const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};

export const median = (v) => [...v].sort((p, q) => p - q)[Math.floor(v.length / 2)];
export const seconds = (start) => Number(process.hrtime.bigint() - start) / 1e9;
/** Flushes dirty pages before a timed step, so one side does not pay for the other's writes. */
export const settle = () => spawnSync("sync");
/** The 1, 5 and 15 minute load averages, for a benchmark's report. */
export const loadavg = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

// Registry traffic goes to a dead proxy: nothing leaves the machine.
const DEAD_PROXY = "http://127.0.0.1:9";
export const proxyEnv = {
  HTTP_PROXY: DEAD_PROXY,
  HTTPS_PROXY: DEAD_PROXY,
  http_proxy: DEAD_PROXY,
  https_proxy: DEAD_PROXY,
  NO_PROXY: "localhost,127.0.0.1",
  no_proxy: "localhost,127.0.0.1",
};

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts dockerd in `<work>/dockerd`; returns { docker(args, opts), root, execRoot, env, stop() }.
 * `extraArgs` go to dockerd (e.g. `--insecure-registry`); `noProxy` lists registry hosts besides
 * loopback that dockerd may reach directly (everything else goes to the dead proxy).
 */
export async function startDockerd(work, { extraArgs = [], noProxy = [] } = {}) {
  const dir = join(work, "dockerd");
  await mkdir(join(dir, "client"), { recursive: true });
  const sock = join(dir, "docker.sock");
  const noProxyList = [proxyEnv.NO_PROXY, ...noProxy].join(",");
  const daemonProxyEnv = { ...proxyEnv, NO_PROXY: noProxyList, no_proxy: noProxyList };
  const env = { PATH: process.env.PATH, HOME: join(dir, "client"), DOCKER_CONFIG: join(dir, "client"), DOCKER_HOST: `unix://${sock}`, ...daemonProxyEnv };
  const log = openSync(join(dir, "dockerd.log"), "a");
  const child = spawn(
    "dockerd",
    [
      "--data-root",
      join(dir, "root"),
      "--exec-root",
      join(dir, "exec"),
      "--pidfile",
      join(dir, "dockerd.pid"),
      "--host",
      `unix://${sock}`,
      "--storage-driver",
      "overlay2",
      "--iptables=false",
      "--bridge=none",
      "--ip-forward=false",
      ...extraArgs,
    ],
    { stdio: ["ignore", log, log], env: { ...process.env, ...daemonProxyEnv } },
  );
  closeSync(log);
  const docker = (args, opts = {}) => {
    const r = spawnSync("docker", args, { env: { ...env, ...(opts.env ?? {}) }, maxBuffer: 1 << 30, ...(opts.input ? { input: opts.input } : {}) });
    if (r.status !== 0 && !opts.allowFailure) throw new Error(`docker ${args.join(" ")}: ${r.stderr}`);
    return r;
  };
  const stop = async () => {
    if (alive(child.pid)) process.kill(child.pid, "SIGTERM");
    for (let i = 0; i < 300 && alive(child.pid); i++) await new Promise((r) => setTimeout(r, 100));
    if (alive(child.pid)) process.kill(child.pid, "SIGKILL");
    const mounts = readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .map((l) => l.split(" ")[4])
      .filter((m) => m?.startsWith(`${dir}/`));
    for (const m of mounts.sort((a, b) => b.length - a.length)) spawnSync("umount", ["-l", m]);
  };
  process.once("exit", () => alive(child.pid) && process.kill(child.pid, "SIGTERM"));
  for (let i = 0; ; i++) {
    if (docker(["version"], { allowFailure: true }).status === 0) break;
    if (i > 300 || child.exitCode !== null) throw new Error(`dockerd did not start: ${readFileSync(join(dir, "dockerd.log"), "utf8").slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { docker, root: join(dir, "root"), execRoot: join(dir, "exec"), env, stop };
}

/**
 * Builds `bench:1` with the legacy builder, FROM scratch: 5 COPY layers, each of random data
 * (~38 MB in 4 files) and 2,600 small files in 26 directories: ~190 MB and 13,000 files in all.
 */
export async function buildBenchImage(work, docker, { mib = 190, files = 13000, layers = 5 } = {}) {
  const ctx = join(work, "context");
  const perLayerFiles = Math.floor(files / layers);
  const bigPerLayer = Math.floor((mib << 20) / layers / 4);
  const chunk = Buffer.alloc(bigPerLayer);
  const steps = ["FROM scratch"];
  for (let l = 0; l < layers; l++) {
    const base = join(ctx, `l${l}`);
    for (let b = 0; b < 4; b++) {
      await mkdir(join(base, "big"), { recursive: true });
      await writeFile(join(base, "big", `blob${b}`), randomFillSync(chunk));
    }
    for (let d = 0; d < 26; d++) {
      await mkdir(join(base, "small", `d${d}`), { recursive: true });
      for (let f = 0; f < perLayerFiles / 26; f++)
        await writeFile(join(base, "small", `d${d}`, `f${f}.txt`), `layer ${l} file ${d}/${f}\n`.repeat(1 + (f % 30)));
    }
    steps.push(`COPY l${l} /layer${l}/`);
  }
  await writeFile(join(ctx, "Dockerfile"), `${steps.join("\n")}\n`);
  docker(["build", "--network", "none", "-q", "-t", "bench:1", ctx], { env: { DOCKER_BUILDKIT: "0" } });
  await rm(ctx, { recursive: true, force: true });
  return docker(["image", "inspect", "-f", "{{.Id}}", "bench:1"]).stdout.toString().trim();
}

/**
 * Runs the built `store` command on `root` as a user would: a fresh node process each call
 * (its start and module loading included in any timing, as docker's client start is).
 */
export function storeCommand(root) {
  const bin = fileURLToPath(new URL("../apps/cli/bin/store.js", import.meta.url));
  return (args) => {
    const r = spawnSync(process.execPath, [bin, "--root", root, ...args], { maxBuffer: 1 << 26 });
    if (r.status !== 0) throw new Error(`store ${args.join(" ")}: ${r.stderr}`);
    return r;
  };
}

/** Image, layer and reference stores on a fresh dockerd-style root. */
export async function openStores(root) {
  await mkdir(root, { recursive: true });
  const layers = await createLayerStore({ root, driver: await createOverlay2Driver({ home: join(root, "overlay2") }) });
  const images = await createImageStore({ backend: createFsBackend({ root: join(root, "image", "overlay2", "imagedb") }), layers });
  const references = await createReferenceStore({ path: join(root, "image", "overlay2", "repositories.json") });
  return {
    images,
    layers,
    references,
    async close() {
      await images.close();
      await layers.close();
    },
  };
}

/**
 * The benchmark's work dir: by default on a fresh journaled ext4 filesystem of its own (a sparse
 * image file in $BENCH_DIR, default /var/tmp, loop-mounted), removed by `dispose()`.
 *
 * Why not the VM's root filesystem: it is ext4 without a journal, and there ext4 will not reuse
 * an inode freed in the last 60-360 s; every create scans past such inodes one buffer lookup at a
 * time (`recently_deleted()` in find_inode_bit: perf put 80% of a `tar -x` there, 700 us per
 * file instead of 30). Whichever side ran after a big delete measured the deletion, not the
 * loader, and runs swung 5x. A fresh journaled ext4 is also what /var/lib/docker usually sits on.
 * `--host-fs` (or BENCH_FS=host) runs in $BENCH_DIR directly instead.
 */
export async function makeWorkDir(name) {
  const base = process.env.BENCH_DIR ?? "/var/tmp";
  const dir = await mkdtemp(join(base, `store-bench-${name}-`));
  if (process.argv.includes("--host-fs") || process.env.BENCH_FS === "host") {
    return { dir, dispose: () => rm(dir, { recursive: true, force: true }), fs: `${base} (host filesystem)` };
  }
  const image = `${dir}.img`;
  const run = (cmd, args) => {
    const r = spawnSync(cmd, args);
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}`);
  };
  run("truncate", ["-s", "16G", image]);
  run("mkfs.ext4", ["-q", "-F", image]);
  run("mount", ["-o", "loop", image, dir]);
  return {
    dir,
    fs: "fresh ext4 (journaled, loop-mounted)",
    async dispose() {
      // Lazy: the process itself may still hold a file open there until it exits.
      spawnSync("umount", ["-l", dir]);
      await rm(dir, { recursive: true, force: true });
      await rm(image, { force: true });
    },
  };
}

export { existsSync };
