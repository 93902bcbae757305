import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, openSync, closeSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasRoot, which } from "./system";

/** What a `docker` CLI call returned. */
export interface DockerResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

export interface DockerCallOptions {
  /** Resolve with a non-zero exit instead of rejecting. */
  allowFailure?: boolean;
  /** Kill the CLI after this long (default 120 s). */
  timeoutMs?: number;
  /** Extra environment for this call (e.g. DOCKER_BUILDKIT=0). */
  env?: Record<string, string>;
}

/** A dockerd of its own: data root, exec root, pidfile, log and socket in one temp directory. */
export interface DockerdPeer {
  /** The temp directory holding everything below (removed by stop()). */
  readonly dir: string;
  /** `--data-root`: where dockerd writes image/, overlay2/ (the formats to be compatible with). */
  readonly root: string;
  readonly execRoot: string;
  readonly socket: string;
  /** `unix://<socket>`, for DOCKER_HOST. */
  readonly host: string;
  readonly pid: number;
  /** Environment for running the docker CLI (or any client) against this daemon. */
  readonly env: NodeJS.ProcessEnv;
  /** Runs the docker CLI against this daemon; `input` goes to its stdin. */
  docker(args: readonly string[], input?: Uint8Array | string | AsyncIterable<Uint8Array>, options?: DockerCallOptions): Promise<DockerResult>;
  /** dockerd's log so far. */
  log(): Promise<string>;
  /** Stops dockerd by PID, waits for it (and its containerd) to exit, then removes `dir`. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartDockerdOptions {
  /** How long to wait for `docker version` to answer (default 60 s). */
  timeoutMs?: number;
  /** Extra dockerd flags. */
  extraArgs?: readonly string[];
}

/**
 * Why dockerd cannot run here (not root, no dockerd or docker binary), or undefined when it can.
 * Use it with `describe.skipIf(dockerdSkipReason())`.
 */
export function dockerdSkipReason(): string | undefined {
  if (!hasRoot()) return "dockerd needs root";
  if (!which("dockerd")) return "no dockerd on PATH (Debian: apt-get install docker.io)";
  if (!which("docker")) return "no docker CLI on PATH";
  return undefined;
}

// Every registry connection dockerd makes goes through this proxy, which refuses: nothing can
// reach the internet, while loopback registries (NO_PROXY) still work.
const DEAD_PROXY = "http://127.0.0.1:9";
const NO_PROXY = "localhost,127.0.0.1,::1";
const LOOPBACK_REF = /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?\//;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

function childExited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once("exit", () => r()));
}

/** Mount points at or below `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const mountPoint = line.split(" ")[4];
    if (mountPoint && (mountPoint === dir || mountPoint.startsWith(`${dir}/`))) out.push(mountPoint.replace(/\\040/g, " "));
  }
  return out.sort((a, b) => b.length - a.length);
}

function run(command: string, args: readonly string[]): Promise<number> {
  return new Promise((resolve) => {
    const p = spawn(command, args, { stdio: "ignore" });
    p.on("error", () => resolve(-1));
    p.on("exit", (code) => resolve(code ?? -1));
  });
}

/** Guards the CLI against anything that could make dockerd pull from the internet. */
function guardArgs(args: readonly string[]): string[] {
  const out = [...args];
  const sub = out[0];
  if (sub === "pull" || (sub === "image" && out[1] === "pull")) {
    const ref = out.filter((a) => !a.startsWith("-")).at(-1) ?? "";
    if (!LOOPBACK_REF.test(ref)) throw new Error(`startDockerd: refusing to pull ${ref}: only loopback registries are allowed`);
  }
  const runLike = sub === "run" || sub === "create" || (sub === "container" && (out[1] === "run" || out[1] === "create"));
  if (runLike && !out.some((a) => a === "--pull" || a.startsWith("--pull="))) {
    out.splice(sub === "container" ? 2 : 1, 0, "--pull", "never");
  }
  return out;
}

/**
 * Starts a dockerd of its own as peers.md describes: a temp dir with `--data-root`, `--exec-root`,
 * `--pidfile` and a unix socket, overlay2, no iptables, bridge or IP forwarding; resolves once
 * `docker version` answers. Registry traffic goes to a dead proxy except for loopback, so nothing
 * leaves the machine. Call stop() in an afterAll: it stops dockerd by PID and waits for it.
 */
export async function startDockerd(options: StartDockerdOptions = {}): Promise<DockerdPeer> {
  const skip = dockerdSkipReason();
  if (skip) throw new Error(`startDockerd: ${skip}`);
  const timeoutMs = options.timeoutMs ?? 60_000;
  const dir = await mkdtemp(join(tmpdir(), "dockerd-"));
  const root = join(dir, "root");
  const execRoot = join(dir, "exec");
  const socket = join(dir, "docker.sock");
  const pidfile = join(dir, "dockerd.pid");
  const logPath = join(dir, "dockerd.log");
  const host = `unix://${socket}`;
  const clientConfig = join(dir, "client");
  await mkdir(clientConfig);

  const proxyEnv = { HTTP_PROXY: DEAD_PROXY, HTTPS_PROXY: DEAD_PROXY, http_proxy: DEAD_PROXY, https_proxy: DEAD_PROXY, NO_PROXY, no_proxy: NO_PROXY };
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: clientConfig,
    DOCKER_HOST: host,
    DOCKER_CONFIG: clientConfig,
    DOCKER_CLI_HINTS: "false",
    ...proxyEnv,
  };

  const logFd = openSync(logPath, "a");
  const args = [
    "--data-root",
    root,
    "--exec-root",
    execRoot,
    "--pidfile",
    pidfile,
    "--host",
    host,
    "--storage-driver",
    "overlay2",
    "--iptables=false",
    "--bridge=none",
    "--ip-forward=false",
    ...(options.extraArgs ?? []),
  ];
  const child = spawn("dockerd", args, { stdio: ["ignore", logFd, logFd], env: { ...process.env, ...proxyEnv } });
  closeSync(logFd);
  const pid = child.pid;
  if (pid === undefined) {
    await rm(dir, { recursive: true, force: true });
    throw new Error("startDockerd: dockerd did not start");
  }
  // A test run that dies without stop() must not leave a daemon behind.
  const onExit = () => {
    if (isAlive(pid)) process.kill(pid, "SIGTERM");
  };
  process.once("exit", onExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      process.removeListener("exit", onExit);
      const containerdPidFile = join(execRoot, "containerd", "containerd.pid");
      const containerdPid = existsSync(containerdPidFile) ? Number(readFileSync(containerdPidFile, "utf8").trim()) : NaN;
      if (isAlive(pid)) process.kill(pid, "SIGTERM");
      await Promise.race([childExited(child), waitForExit(pid, 30_000)]);
      if (isAlive(pid)) {
        process.kill(pid, "SIGKILL");
        await waitForExit(pid, 10_000);
      }
      // dockerd stops the containerd it started; if it was killed, that containerd is ours to stop.
      if (Number.isInteger(containerdPid) && containerdPid > 0 && isAlive(containerdPid)) {
        const cmdline = existsSync(`/proc/${containerdPid}/cmdline`) ? readFileSync(`/proc/${containerdPid}/cmdline`, "utf8") : "";
        if (cmdline.includes(execRoot)) {
          process.kill(containerdPid, "SIGTERM");
          if (!(await waitForExit(containerdPid, 10_000))) process.kill(containerdPid, "SIGKILL");
        }
      }
      for (const m of mountsUnder(dir)) await run("umount", ["-l", m]);
      const left = mountsUnder(dir);
      if (left.length > 0) throw new Error(`startDockerd: mounts remain under ${dir}, not removing it: ${left.join(", ")}`);
      await rm(dir, { recursive: true, force: true });
    })());

  const docker: DockerdPeer["docker"] = (dockerArgs, input, callOptions = {}) =>
    new Promise<DockerResult>((resolve, reject) => {
      let guarded: string[];
      try {
        guarded = guardArgs(dockerArgs);
      } catch (e) {
        reject(e);
        return;
      }
      const p = spawn("docker", guarded, { env: { ...env, ...callOptions.env }, stdio: ["pipe", "pipe", "pipe"] });
      const out: Buffer[] = [];
      let err = "";
      const timer = setTimeout(() => p.kill("SIGKILL"), callOptions.timeoutMs ?? 120_000);
      p.stdout!.on("data", (b: Buffer) => out.push(b));
      p.stderr!.setEncoding("utf8").on("data", (s: string) => (err += s));
      p.on("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      p.on("close", (code, signal) => {
        clearTimeout(timer);
        const result = { code: code ?? -1, stdout: Buffer.concat(out), stderr: err };
        if (result.code !== 0 && !callOptions.allowFailure) {
          reject(new Error(`docker ${guarded.join(" ")} exited ${code ?? signal}: ${err.trim()}`));
        } else {
          resolve(result);
        }
      });
      p.stdin!.on("error", () => {}); // the CLI may exit before reading all input
      if (input === undefined) {
        p.stdin!.end();
      } else if (typeof input === "string" || input instanceof Uint8Array) {
        p.stdin!.end(input);
      } else {
        (async () => {
          for await (const chunk of input) {
            if (!p.stdin!.write(chunk)) await new Promise((r) => p.stdin!.once("drain", r));
          }
          p.stdin!.end();
        })().catch((e) => p.stdin!.destroy(e as Error));
      }
    });

  const peer: DockerdPeer = {
    dir,
    root,
    execRoot,
    socket,
    host,
    pid,
    env,
    docker,
    log: () => readFile(logPath, "utf8"),
    stop,
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = await readFile(logPath, "utf8").catch(() => "");
      await stop().catch(() => {});
      throw new Error(`startDockerd: dockerd exited during startup:\n${log.slice(-3000)}`);
    }
    const r = await docker(["version", "--format", "{{.Server.Version}}"], undefined, { allowFailure: true, timeoutMs: 10_000 }).catch(() => undefined);
    if (r && r.code === 0) break;
    if (Date.now() > deadline) {
      const log = await readFile(logPath, "utf8").catch(() => "");
      await stop().catch(() => {});
      throw new Error(`startDockerd: dockerd not ready after ${timeoutMs} ms:\n${log.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const pidText = await readFile(pidfile, "utf8").catch(() => "");
  if (pidText.trim() !== String(pid)) {
    await stop().catch(() => {});
    throw new Error(`startDockerd: pidfile says ${pidText.trim() || "nothing"}, expected ${pid}`);
  }
  return peer;
}
