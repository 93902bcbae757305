import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { htpasswdLine } from "./htpasswd";
import { which } from "./system";
import { createTestCa } from "./test-ca";
import type { TokenServerPeer } from "./token-server";

/** A running Docker registry (Debian's `docker-registry`, distribution 2.x) on 127.0.0.1. */
export interface RegistryPeer {
  readonly port: number;
  readonly pid: number;
  /** `127.0.0.1:<port>`: the host part of image references pushed to it. */
  readonly host: string;
  /** `http://127.0.0.1:<port>`, or `https://…` with {@link StartRegistryOptions.tls}. */
  readonly url: string;
  /**
   * With `tls`: the test CA's certificate (PEM file) that signed the registry's certificate
   * (SANs 127.0.0.1 and localhost): copy it to `certs.d/<host>/ca.crt` to trust the registry.
   */
  readonly caPath: string | undefined;
  /** With `htpasswd`: the users and passwords the registry accepts. */
  readonly users: Readonly<Record<string, string>> | undefined;
  /** The registry's log so far (level `info` when `logLevel` asks for it; `error` by default). */
  log(): Promise<string>;
  /** Stops the registry by PID and removes its storage. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartRegistryOptions {
  /** How long to wait for `/v2/` to answer (default 15 s). */
  timeoutMs?: number;
  /**
   * Basic auth (`auth: htpasswd`) with these users and passwords. distribution 2.8 does not
   * require TLS for it (its docs say it should be used under TLS; the code does not check).
   */
  htpasswd?: { users: Record<string, string>; realm?: string };
  /** Bearer token auth (`auth: token`) trusting tokens of this server (start it first, stop it last). */
  token?: TokenServerPeer;
  /** Serve HTTPS with a certificate for 127.0.0.1 and localhost from a test CA of its own. */
  tls?: boolean;
  /** The registry's log level (default `error`; `info` logs every request). */
  logLevel?: "error" | "warn" | "info" | "debug";
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

/** True once `/v2/` answers at all: 200, or 401 from a registry with auth. */
function answers(url: string, ca: string | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const request = url.startsWith("https:") ? httpsRequest : httpRequest;
    const req = request(`${url}/v2/`, { ca, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 || res.statusCode === 401);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

function yamlString(s: string): string {
  return JSON.stringify(s);
}

/**
 * Starts a registry on 127.0.0.1 (a free port, storage in a temp dir) and resolves once `/v2/`
 * answers. By default plain HTTP without auth: dockerd treats 127.0.0.0/8 registries as insecure
 * (plain HTTP), so `docker push 127.0.0.1:<port>/x` works without daemon options, and nothing
 * leaves the machine. Options add htpasswd Basic auth, token auth, or TLS from a test CA.
 */
export async function startRegistry(options: StartRegistryOptions = {}): Promise<RegistryPeer> {
  const skip = registrySkipReason();
  if (skip) throw new Error(`startRegistry: ${skip}`);
  if (options.htpasswd && options.token) throw new Error("startRegistry: htpasswd and token auth exclude each other");
  const dir = await mkdtemp(join(tmpdir(), "registry-"));
  const port = await freePort();
  const config = join(dir, "config.yml");
  const lines = [
    "version: 0.1",
    "log:",
    `  level: ${options.logLevel ?? "error"}`,
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${yamlString(join(dir, "data"))}`,
    "  delete:",
    "    enabled: true",
    "http:",
    `  addr: 127.0.0.1:${port}`,
    // A fixed secret: without one each start logs a warning and picks a random one.
    "  secret: store-test-registry",
  ];
  let caPath: string | undefined;
  try {
    if (options.tls) {
      const ca = await createTestCa(dir);
      const cert = await ca.issue("registry", { sans: ["IP:127.0.0.1", "DNS:localhost"] });
      caPath = ca.caPath;
      lines.push("  tls:", `    certificate: ${yamlString(cert.certPath)}`, `    key: ${yamlString(cert.keyPath)}`);
    }
    if (options.htpasswd) {
      const path = join(dir, "htpasswd");
      await writeFile(
        path,
        `${Object.entries(options.htpasswd.users)
          .map(([u, p]) => htpasswdLine(u, p))
          .join("\n")}\n`,
      );
      lines.push("auth:", "  htpasswd:", `    realm: ${yamlString(options.htpasswd.realm ?? "store-test")}`, `    path: ${yamlString(path)}`);
    }
    if (options.token) {
      const t = options.token;
      lines.push(
        "auth:",
        "  token:",
        `    realm: ${yamlString(t.realm)}`,
        `    service: ${yamlString(t.service)}`,
        `    issuer: ${yamlString(t.issuer)}`,
        `    rootcertbundle: ${yamlString(t.rootCertBundle)}`,
      );
    }
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  await writeFile(config, `${lines.join("\n")}\n`);
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

  const url = `${options.tls ? "https" : "http"}://127.0.0.1:${port}`;
  const ca = caPath === undefined ? undefined : readFileSync(caPath, "utf8");
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  while (!(await answers(url, ca))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const log = readFileSync(logPath, "utf8").slice(-2000);
      await stop();
      throw new Error(`startRegistry: the registry did not answer on 127.0.0.1:${port}: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    pid,
    host: `127.0.0.1:${port}`,
    url,
    caPath,
    users: options.htpasswd?.users,
    log: () => readFile(logPath, "utf8"),
    stop,
  };
}
