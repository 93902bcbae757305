import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { which } from "./system";

/** A running Docker registry (Debian's `docker-registry`, distribution 2.x) on 127.0.0.1. */
export interface RegistryPeer {
  readonly port: number;
  readonly pid: number;
  /** `127.0.0.1:<port>`: the host part of image references pushed to it. */
  readonly host: string;
  /** Stops the registry by PID and removes its storage. Safe to call twice. */
  stop(): Promise<void>;
}

/** Why registry tests cannot run here, or undefined when they can. */
export function registrySkipReason(): string | undefined {
  return which("docker-registry") ? undefined : "no docker-registry on PATH (Debian: apt-get install docker-registry)";
}

/** A free TCP port on 127.0.0.1 (asked of the kernel, then released for the registry to take). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

async function answers(port: number): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/v2/`);
    return r.status === 200;
  } catch {
    return false;
  }
}

/**
 * Starts a registry on 127.0.0.1 (a free port, no auth, storage in a temp dir) and resolves once
 * `/v2/` answers. dockerd treats 127.0.0.0/8 registries as insecure (plain HTTP) by default, so
 * `docker push 127.0.0.1:<port>/x` works without daemon options, and nothing leaves the machine.
 */
export async function startRegistry(options: { timeoutMs?: number } = {}): Promise<RegistryPeer> {
  const skip = registrySkipReason();
  if (skip) throw new Error(`startRegistry: ${skip}`);
  const dir = await mkdtemp(join(tmpdir(), "registry-"));
  const port = await freePort();
  const config = join(dir, "config.yml");
  await writeFile(
    config,
    [
      "version: 0.1",
      "log:",
      "  level: error",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${join(dir, "data")}`,
      "  delete:",
      "    enabled: true",
      "http:",
      `  addr: 127.0.0.1:${port}`,
      "",
    ].join("\n"),
  );
  const logPath = join(dir, "registry.log");
  const logFd = openSync(logPath, "a");
  const child: ChildProcess = spawn("docker-registry", ["serve", config], { stdio: ["ignore", logFd, logFd] });
  closeSync(logFd);
  const pid = child.pid;
  if (pid === undefined) {
    await rm(dir, { recursive: true, force: true });
    throw new Error("startRegistry: docker-registry did not start");
  }
  const onExit = () => child.kill("SIGKILL");
  process.once("exit", onExit);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      process.removeListener("exit", onExit);
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child.once("exit", () => r()));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    })());

  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  while (!(await answers(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const log = readFileSync(logPath, "utf8").slice(-2000);
      await stop();
      throw new Error(`startRegistry: the registry did not answer on 127.0.0.1:${port}: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { port, pid, host: `127.0.0.1:${port}`, stop };
}
