// Shared by bench/daemon-images.mjs and bench/daemon-pull-load.mjs: `stored` (the built
// apps/daemon) started as a process of its own on a root and a unix socket, the docker CLI pointed
// at a socket, and a bounded load generator of N keep-alive connections over a unix socket.
// Not a benchmark itself.
import { spawn, spawnSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { Agent, createServer, request } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildBenchImage, proxyEnv, startDockerd } from "./archive-support.mjs";
import { skopeoPush, startLoopbackRegistry } from "./pull-support.mjs";

// Registry traffic of the daemons goes to a dead proxy unless it is for loopback.

/** The q-quantile (0..1) of `xs`, nearest rank. */
export function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

/** Resolves whether `GET /_ping` on `socket` answers 200. */
export function ping(socket) {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path: "/_ping", timeout: 1000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode === 200));
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

/**
 * Starts the built `stored` on `root` with its socket in `dir`; resolves once `/_ping` answers.
 * `nodeArgs` go to node before the script (e.g. `--cpu-prof` to profile the daemon); `bin`
 * runs another build of it (e.g. one of an earlier commit, to compare).
 * Returns { socket, env (a docker CLI's: DOCKER_HOST and a config of its own), startMs, stop() }.
 */
/** user + system CPU seconds of `pid` so far (clock ticks of 1/100 s). */
export function cpuSeconds(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

/**
 * The registry on loopback holding the bench image (buildBenchImage's, built by a dockerd started
 * for it and stopped after) as `bench/files:1`, and its `docker save` archive (`bench:1`), for
 * the benchmarks of stored's pull.
 */
export async function registryWithBenchImage(work, { mib = 190, files = 13000 } = {}) {
  const registry = await startLoopbackRegistry(work);
  try {
    const dockerd = await startDockerd(work);
    const archive = join(work, "files.tar");
    try {
      await buildBenchImage(work, dockerd.docker, { mib, files });
      dockerd.docker(["save", "-o", archive, "bench:1"]);
    } finally {
      await dockerd.stop();
    }
    const ref = `127.0.0.1:${registry.port}/bench/files:1`;
    skopeoPush(archive, ref);
    return { registry, ref, archive };
  } catch (e) {
    await registry.stop();
    throw e;
  }
}

/** The node flags a launcher's `#!/usr/bin/env -S node …` line gives. */
function launcherNodeFlags(bin) {
  const shebang = readFileSync(bin, "utf8").split("\n")[0];
  return shebang.startsWith("#!/usr/bin/env -S node ") ? shebang.slice("#!/usr/bin/env -S node ".length).split(" ").filter(Boolean) : [];
}

export async function startStored(dir, root, { extraArgs = [], env: extraEnv = {}, nodeArgs = [], bin: binPath } = {}) {
  mkdirSync(join(dir, "client"), { recursive: true });
  const socket = join(dir, "stored.sock");
  const bin = binPath ?? fileURLToPath(new URL("../apps/daemon/bin/stored.js", import.meta.url));
  const logPath = join(dir, "stored.log");
  const log = openSync(logPath, "a");
  const t = performance.now();
  // Started as a user starts it: through the launcher's shebang and the node flags it names.
  // With node flags of the caller's own (a profiler), node is run with both.
  const daemonArgs = ["--data-root", root, "-H", `unix://${socket}`, "--log-level", "warn", ...extraArgs];
  const [command, args] = nodeArgs.length === 0 ? [bin, daemonArgs] : [process.execPath, [...launcherNodeFlags(bin), ...nodeArgs, bin, ...daemonArgs]];
  const child = spawn(command, args, {
    stdio: ["ignore", log, log],
    env: { PATH: process.env.PATH, HOME: join(dir, "client"), DOCKER_CONFIG: join(dir, "client"), ...proxyEnv, ...extraEnv },
  });
  closeSync(log);
  const exited = new Promise((r) => child.once("exit", r));
  process.once("exit", () => child.exitCode === null && child.kill("SIGKILL"));
  for (;;) {
    if (child.exitCode !== null) throw new Error(`stored exited: ${readFileSync(logPath, "utf8").slice(-2000)}`);
    if (await ping(socket)) break;
    if (performance.now() - t > 120_000) throw new Error("stored did not start in 120 s");
    await new Promise((r) => setTimeout(r, 10));
  }
  const startMs = performance.now() - t;
  const env = {
    PATH: process.env.PATH,
    HOME: join(dir, "client"),
    DOCKER_CONFIG: join(dir, "client"),
    DOCKER_HOST: `unix://${socket}`,
    DOCKER_CLI_HINTS: "false",
  };
  const stop = async () => {
    if (child.exitCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  };
  return { socket, env, startMs, pid: child.pid, logPath, stop };
}

/** Runs the docker CLI with `env` (its DOCKER_HOST picks the daemon); throws on failure. */
export function dockerCli(env, args, { input, allowFailure } = {}) {
  const r = spawnSync("docker", args, { env: { ...env, DOCKER_CLI_HINTS: "false" }, input, encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.status !== 0 && !allowFailure) throw new Error(`docker ${args.join(" ")}: ${r.stderr}`);
  return r;
}

/** One GET on `socket` through `agent`, the body read whole; resolves { status, bytes, ms }. */
export function getOn(socket, path, agent) {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const req = request({ socketPath: socket, path, agent, headers: { Host: "docker" } }, (res) => {
      let bytes = 0;
      res.on("data", (c) => (bytes += c.length));
      res.on("error", reject);
      res.on("end", () => resolve({ status: res.statusCode, bytes, ms: performance.now() - t }));
    });
    req.on("error", reject);
    req.end();
  });
}

/**
 * A bounded load generator: `connections` keep-alive connections over `socket`, each sending
 * GETs of `paths()` back to back until `seconds` have passed or `maxRequests` were sent in all.
 * Resolves { requests, rps, p50, p99, bytes, errors, clientCpuS } (latencies in ms, non-200s
 * counted as errors; clientCpuS: the CPU seconds this process spent generating the load, which
 * it takes from the same two cores as the daemon).
 */
export async function loadSocket(socket, paths, { connections = 8, seconds = 5, maxRequests = 1_000_000 } = {}) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const latencies = [];
  let sent = 0;
  let errors = 0;
  let bytes = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline && sent < maxRequests) {
      sent++;
      const r = await getOn(socket, paths(), agent);
      if (r.status !== 200) errors++;
      bytes += r.bytes;
      latencies.push(r.ms);
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  agent.destroy();
  return {
    requests: latencies.length,
    rps: latencies.length / elapsed,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    bytes,
    errors,
    clientCpuS: (cpu.user + cpu.system) / 1e6,
  };
}

/** Runs the docker CLI with `env` without blocking this process; resolves { out, ms }. */
export function dockerCliAsync(env, args) {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawn("docker", args, { env: { ...env, DOCKER_CLI_HINTS: "false" }, stdio: ["ignore", "pipe", "pipe"] });
    const out = [];
    let err = "";
    child.stdout.on("data", (c) => out.push(c));
    child.stderr.setEncoding("utf8").on("data", (s) => (err += s));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve({ out: Buffer.concat(out).toString("utf8"), ms: performance.now() - t }) : reject(new Error(`docker ${args.join(" ")}: ${err}`)),
    );
  });
}

/**
 * A server on `<dir>/replay.sock` answering each request with what `socket` answered the first
 * time it was asked the same method and path, from memory: what a client costs by itself, with
 * a daemon that takes no time. Returns { socket, env (a docker CLI's), close() }.
 */
export async function startReplay(dir, socket, env) {
  const path = join(dir, "replay.sock");
  const answers = new Map();
  const ask = (method, url) =>
    new Promise((resolve, reject) => {
      const req = request({ socketPath: socket, path: url, method, headers: { Host: "docker" } }, (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end();
    });
  const server = createServer(async (req, res) => {
    const key = `${req.method} ${req.url}`;
    let answer = answers.get(key);
    if (!answer) answers.set(key, (answer = await ask(req.method, req.url)));
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  });
  await new Promise((resolve) => server.listen(path, resolve));
  return { socket: path, env: { ...env, DOCKER_HOST: `unix://${path}` }, close: () => new Promise((r) => server.close(r)) };
}
