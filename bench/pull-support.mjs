// Shared by bench/pull.mjs: the registry (Debian's docker-registry) on loopback or in a network
// namespace of the benchmark's own behind a shaped veth, a byte-counting TCP proxy, the one-layer
// 500 MB image, skopeo pushes, and async process runs. Not a benchmark itself.
// Plain .mjs like archive-support.mjs: benchmarks run under plain node, which cannot import the
// TypeScript of @store/test-peers (startRegistry, pushArchiveToRegistry there are the tests' twins).
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomFillSync } from "node:crypto";
import { closeSync, createReadStream, openSync, readFileSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { connect, createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function must(command, args) {
  const r = spawnSync(command, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")}: ${(r.stderr || r.stdout || "").trim()}`);
  return r.stdout;
}

/**
 * Runs a command to its end without blocking the event loop (the counting proxy and concurrent
 * pulls live in this process). Resolves { code, signal, stdout, stderr, s } (s: seconds taken).
 * `onSpawn(child)` lets a caller kill it half-way.
 */
export function runAsync(command, args, { env, onSpawn } = {}) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s) => (stdout = (stdout + s).slice(-20_000)));
    child.stderr.setEncoding("utf8").on("data", (s) => (stderr = (stderr + s).slice(-20_000)));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr, s: Number(process.hrtime.bigint() - start) / 1e9 }));
    onSpawn?.(child);
  });
}

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Polls `GET <url>/v2/` until it answers 200 (or throws after `timeoutMs`). */
export async function waitForRegistry(url, timeoutMs = 20_000, logPath) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`${url}/v2/`)).status === 200) return;
    } catch {}
    if (Date.now() > deadline) throw new Error(`registry at ${url} did not answer: ${logPath ? readFileSync(logPath, "utf8").slice(-2000) : ""}`);
    await sleep(100);
  }
}

/**
 * Starts `docker-registry serve` on `addr` over `dataDir` (several registries may share one
 * storage: the images are pushed once and served by both setups), inside `netns` when given
 * (`ip netns exec` execs the registry itself, so the PID is the registry's). Log level info:
 * every response is logged with its `http.response.written` byte count.
 */
export async function startRegistryProcess({ dir, dataDir, addr, netns }) {
  await mkdir(dir, { recursive: true });
  const config = join(dir, "config.yml");
  await writeFile(
    config,
    [
      "version: 0.1",
      "log:",
      "  level: info",
      "  accesslog:",
      "    disabled: true",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${JSON.stringify(dataDir)}`,
      "  delete:",
      "    enabled: true",
      "http:",
      `  addr: ${addr}`,
      "  secret: store-bench",
      "",
    ].join("\n"),
  );
  const logPath = join(dir, "registry.log");
  const log = openSync(logPath, "a");
  const [command, args] = netns ? ["ip", ["netns", "exec", netns, "docker-registry", "serve", config]] : ["docker-registry", ["serve", config]];
  const child = spawn(command, args, { stdio: ["ignore", log, log] });
  closeSync(log);
  const stop = () => stopChild(child);
  process.once("exit", () => child.exitCode === null && child.kill("SIGKILL"));
  return { pid: child.pid, logPath, stop };
}

/** A registry on a free loopback port over `<work>/registry-data`, answering; { port, logPath, stop }. */
export async function startLoopbackRegistry(work) {
  const port = await freePort();
  const registry = await startRegistryProcess({ dir: join(work, "registry"), dataDir: join(work, "registry-data"), addr: `127.0.0.1:${port}` });
  try {
    await waitForRegistry(`http://127.0.0.1:${port}`, 20_000, registry.logPath);
  } catch (e) {
    await registry.stop();
    throw e;
  }
  return { ...registry, port };
}

/** SIGTERM by PID, SIGKILL after 5 s; resolves once it exited. */
export async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

/**
 * A network namespace of the benchmark's own, joined to the host by a veth pair with private
 * addresses (10.213.<n>.1 on the host, 10.213.<n>.2 inside), each end rate-limited by tbf (the
 * only shaping qdisc these VMs' kernel has; delay comes from bench/delay-relay.mjs). Names carry
 * the PID so parallel runs cannot collide; destroy() removes the namespace and with it the veth.
 */
export function createNetns({ subnet = 0, rate = "1gbit" } = {}) {
  const id = `${process.pid % 100000}`;
  const name = `storebench${id}`;
  const hostIf = `sbh${id}`;
  const nsIf = `sbn${id}`;
  const hostAddr = `10.213.${subnet}.1`;
  const nsAddr = `10.213.${subnet}.2`;
  let created = false;
  const destroy = () => {
    if (!created) return;
    spawnSync("ip", ["netns", "del", name]);
    spawnSync("ip", ["link", "del", hostIf]);
    created = false;
  };
  try {
    must("ip", ["netns", "add", name]);
    created = true;
    must("ip", ["link", "add", hostIf, "type", "veth", "peer", "name", nsIf]);
    must("ip", ["link", "set", nsIf, "netns", name]);
    must("ip", ["addr", "add", `${hostAddr}/30`, "dev", hostIf]);
    must("ip", ["link", "set", hostIf, "up"]);
    must("ip", ["-n", name, "addr", "add", `${nsAddr}/30`, "dev", nsIf]);
    must("ip", ["-n", name, "link", "set", nsIf, "up"]);
    must("ip", ["-n", name, "link", "set", "lo", "up"]);
    // burst must hold a whole GSO segment (64 KiB) or tbf drops it; 1 MB at 1 Gbit/s is 8 ms.
    const tbf = ["root", "tbf", "rate", rate, "burst", "1mb", "latency", "100ms"];
    must("tc", ["qdisc", "add", "dev", hostIf, ...tbf]);
    must("ip", ["netns", "exec", name, "tc", "qdisc", "add", "dev", nsIf, ...tbf]);
  } catch (e) {
    destroy();
    throw e;
  }
  process.once("exit", destroy);
  return { name, hostAddr, nsAddr, destroy };
}

/** Starts bench/delay-relay.mjs (inside `netns` when given); resolves { port, stop } once it listens. */
export async function startDelayRelay({ listen, target, delayMs, netns }) {
  const script = fileURLToPath(new URL("./delay-relay.mjs", import.meta.url));
  const args = [script, "--listen", listen, "--target", target, "--delay", String(delayMs)];
  const child = netns
    ? spawn("ip", ["netns", "exec", netns, process.execPath, ...args], { stdio: ["ignore", "pipe", "inherit"] })
    : spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  process.once("exit", () => child.exitCode === null && child.kill("SIGKILL"));
  const port = await new Promise((resolve, reject) => {
    let out = "";
    child.once("exit", (code) => reject(new Error(`delay relay exited ${code}`)));
    child.stdout.setEncoding("utf8").on("data", (s) => {
      out += s;
      if (out.includes("\n")) resolve(JSON.parse(out.split("\n")[0]).port);
    });
  });
  return { port, stop: () => stopChild(child) };
}

/**
 * A TCP proxy on 127.0.0.1 in front of `target` ({ host, port }) that counts the bytes the
 * registry sends to clients: the resume figure's "bytes fetched again".
 */
export async function startCountingProxy(target) {
  let bytes = 0;
  const sockets = new Set();
  const server = createServer((client) => {
    const upstream = connect(target);
    sockets.add(client).add(upstream);
    const fail = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on("error", fail);
      s.on("close", () => {
        sockets.delete(s);
        fail();
      });
    }
    upstream.on("data", (chunk) => (bytes += chunk.length));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: server.address().port,
    get bytes() {
      return bytes;
    },
    reset() {
      bytes = 0;
    },
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(r);
      }),
  };
}

/** `skopeo copy docker-archive:<archive> docker://<ref>` over plain HTTP (--dest-tls-verify=false). */
export function skopeoPush(archive, ref) {
  must("skopeo", ["--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false", `docker-archive:${archive}`, `docker://${ref}`]);
}

/** Manifest (Docker schema2) of `name:tag` on `url`, and the compressed bytes a pull fetches. */
export async function manifestOf(url, name, tag) {
  const r = await fetch(`${url}/v2/${name}/manifests/${tag}`, { headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json" } });
  if (r.status !== 200) throw new Error(`GET ${url}/v2/${name}/manifests/${tag}: ${r.status}`);
  const manifest = await r.json();
  const bytes = manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0);
  return { manifest, bytes };
}

// GNU tar flags that make the layer depend on its files alone.
const reproducible = ["--sort=name", "--mtime=2020-01-02 03:04:05Z", "--owner=0", "--group=0", "--numeric-owner"];

/**
 * Writes a `docker save`-style archive of a one-layer image of `mib` MiB in files of 50 MiB,
 * incompressible-ish: in each MiB, 7/8 random bytes and 1/8 text, so gzip keeps about 90% of it
 * (a pull moves the bytes, and gunzip does real work). No dockerd needed.
 */
export async function writeOneLayerArchive(path, tag, { mib = 500 } = {}) {
  const work = `${path}.d`;
  const root = join(work, "rootfs", "data");
  await mkdir(root, { recursive: true });
  const fileMiB = 50;
  const block = Buffer.alloc(1 << 20);
  const text = Buffer.from("the quick brown fox jumps over the lazy dog 0123456789\n".repeat(2500)).subarray(0, (1 << 20) / 8);
  for (let f = 0; f * fileMiB < mib; f++) {
    const parts = [];
    for (let m = 0; m < Math.min(fileMiB, mib - f * fileMiB); m++) {
      randomFillSync(block, 0, block.length - text.length);
      text.copy(block, block.length - text.length);
      parts.push(Buffer.from(block));
    }
    await writeFile(join(root, `blob${f}`), Buffer.concat(parts));
  }
  const out = join(work, "archive");
  await mkdir(out);
  const layerTar = join(work, "layer.tar");
  must("tar", ["-C", join(work, "rootfs"), ...reproducible, "-cf", layerTar, "."]);
  const hex = await sha256File(layerTar);
  await mkdir(join(out, hex));
  must("mv", [layerTar, join(out, hex, "layer.tar")]);
  const config = JSON.stringify({
    architecture: "amd64",
    os: "linux",
    config: { Cmd: ["/bin/sh"] },
    created: "2020-01-02T03:04:05Z",
    history: [{ created: "2020-01-02T03:04:05Z", created_by: `${mib} MiB of mostly random data` }],
    rootfs: { type: "layers", diff_ids: [`sha256:${hex}`] },
  });
  const configHex = createHash("sha256").update(config).digest("hex");
  await writeFile(join(out, `${configHex}.json`), config);
  await writeFile(join(out, "manifest.json"), JSON.stringify([{ Config: `${configHex}.json`, RepoTags: [tag], Layers: [`${hex}/layer.tar`] }]));
  must("tar", ["-C", out, "-cf", path, "."]);
  await rm(work, { recursive: true, force: true });
  return { id: `sha256:${configHex}` };
}

async function sha256File(path) {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk);
  return hash.digest("hex");
}
