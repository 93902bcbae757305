import { spawn } from "node:child_process";
import { request as httpRequest } from "node:http";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Daemon, startDaemon } from "../src/daemon";
import type { DaemonOptions } from "../src/daemon-options";
import { createLogger } from "../src/logger";

/** An answer read whole. */
export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
  /** The body parsed as JSON. */
  json<T = unknown>(): T;
  /** The body as docker's JSON message lines. */
  lines<T = Record<string, unknown>>(): T[];
}

export interface RequestOptions {
  body?: Uint8Array | string | AsyncIterable<Uint8Array>;
  headers?: Record<string, string>;
}

/** One HTTP request over a unix socket, the answer read whole. */
export function requestOn(socket: string, method: string, path: string, options: RequestOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ socketPath: socket, method, path, headers: { Host: "docker", ...options.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const body = Buffer.concat(chunks);
        const text = body.toString("utf8");
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          text,
          json: <T>() => JSON.parse(text) as T,
          lines: <T>() =>
            text
              .split("\n")
              .map((l) => l.trim())
              .filter(Boolean)
              .map((l) => JSON.parse(l) as T),
        });
      });
    });
    req.on("error", reject);
    const body = options.body;
    if (body === undefined) req.end();
    else if (typeof body === "string" || body instanceof Uint8Array) req.end(body);
    else {
      void (async () => {
        try {
          for await (const chunk of body) if (!req.write(chunk)) await new Promise((r) => req.once("drain", r));
          req.end();
        } catch (e) {
          req.destroy(e as Error);
        }
      })();
    }
  });
}

/** A daemon of its own in a temp dir: root, socket, and a request helper. */
export interface TestDaemon {
  readonly dir: string;
  readonly root: string;
  readonly socket: string;
  readonly daemon: Daemon;
  /** What the daemon logged (JSON lines). */
  readonly logged: string[];
  request(method: string, path: string, options?: RequestOptions): Promise<Answer>;
  /** Runs a docker CLI binary against this daemon, with a docker config of its own. */
  docker(bin: string, args: readonly string[], input?: Uint8Array): Promise<CliResult>;
  stop(): Promise<void>;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  raw: Buffer;
}

/** Runs `bin args` with `env`, `input` on stdin. */
export function runCli(bin: string, args: readonly string[], env: NodeJS.ProcessEnv, input?: Uint8Array): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let err = "";
    p.stdout.on("data", (c: Buffer) => out.push(c));
    p.stderr.setEncoding("utf8").on("data", (s: string) => (err += s));
    p.on("error", reject);
    p.on("close", (code) => {
      const raw = Buffer.concat(out);
      resolve({ code: code ?? -1, stdout: raw.toString("utf8"), stderr: err, raw });
    });
    p.stdin.on("error", () => undefined);
    p.stdin.end(input);
  });
}

/** Starts a daemon on a fresh root (or `root`) in a temp dir. */
export async function startTestDaemon(options: Partial<DaemonOptions> = {}, idleTimeoutMs?: number): Promise<TestDaemon> {
  const dir = await mkdtemp(join(tmpdir(), "stored-test-"));
  const root = options.dataRoot ?? join(dir, "root");
  const socket = join(dir, "stored.sock");
  const logged: string[] = [];
  const configDir = join(dir, "docker-config");
  await mkdir(configDir);
  const daemon = await startDaemon(
    {
      dataRoot: root,
      hosts: [`unix://${socket}`],
      storageDriver: "overlay2",
      insecureRegistries: [],
      registryMirrors: [],
      maxConcurrentDownloads: 3,
      maxConcurrentUploads: 5,
      logLevel: "debug",
      ...options,
    },
    {
      env: { DOCKER_CONFIG: configDir, HOME: dir },
      logger: createLogger("debug", { write: (t: string) => logged.push(t) }),
      ...(idleTimeoutMs ? { idleTimeoutMs } : {}),
    },
  );
  let stopped = false;
  return {
    dir,
    root,
    socket,
    daemon,
    logged,
    request: (method, path, opts) => requestOn(socket, method, path, opts),
    docker: (bin, args, input) =>
      runCli(
        bin,
        args,
        { PATH: process.env.PATH, HOME: dir, DOCKER_CONFIG: join(dir, "cli-config"), DOCKER_HOST: `unix://${socket}`, DOCKER_CLI_HINTS: "false" },
        input,
      ),
    async stop() {
      if (stopped) return;
      stopped = true;
      await daemon.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The two docker CLIs on these machines: Debian's 20.10 and the 28.x first on PATH. */
export const dockerClis = ["/usr/bin/docker", "/usr/local/bin/docker"] as const;
