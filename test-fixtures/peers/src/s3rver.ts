import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Client settings an AWS SDK v3 S3 client needs to talk to s3rver (see {@link startS3rver}). */
export interface S3rverClientConfig {
  endpoint: string;
  region: "us-east-1";
  forcePathStyle: true;
  credentials: { accessKeyId: string; secretAccessKey: string };
  // s3rver stores a streamed body with its aws-chunked framing when the SDK adds its default
  // checksums, so the SDK must only checksum where an operation requires it.
  requestChecksumCalculation: "WHEN_REQUIRED";
  responseChecksumValidation: "WHEN_REQUIRED";
}

/** A running s3rver with one bucket, on 127.0.0.1. */
export interface S3rverPeer {
  readonly port: number;
  readonly pid: number;
  readonly endpoint: string;
  /** The bucket created at start. */
  readonly bucket: string;
  /** Where s3rver keeps its objects (removed by stop()). */
  readonly directory: string;
  readonly clientConfig: S3rverClientConfig;
  /** Stops the server by PID and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartS3rverOptions {
  /** The bucket to create (default "store-test"). */
  bucket?: string;
  /** How long to wait for the server to listen (default 15 s). */
  timeoutMs?: number;
}

// Runs in the child: s3rver's paginated listing encrypts continuation tokens with DES, which
// OpenSSL 3 only offers through its legacy provider. That flag belongs in this child alone, not in
// the test workers. The child exits when its stdin closes, so a crashed test run leaves no server.
const childScript = `
const S3rver = require(process.argv[1]);
const [directory, bucket] = process.argv.slice(2);
const server = new S3rver({ address: "127.0.0.1", port: 0, directory, silent: true,
  configureBuckets: [{ name: bucket, configs: [] }] });
server.run().then(({ port }) => process.stdout.write(JSON.stringify({ port }) + "\\n"),
  (e) => { console.error(e); process.exit(1); });
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
`;

/**
 * Starts s3rver as a child process on 127.0.0.1 (an ephemeral port) over a fresh temp directory,
 * with `bucket` created, and resolves once it listens.
 */
export async function startS3rver(options: StartS3rverOptions = {}): Promise<S3rverPeer> {
  const bucket = options.bucket ?? "store-test";
  const timeoutMs = options.timeoutMs ?? 15_000;
  const directory = await mkdtemp(join(tmpdir(), "s3rver-"));
  const entry = createRequire(import.meta.url).resolve("s3rver");
  const child = spawn(process.execPath, ["--openssl-legacy-provider", "-e", childScript, entry, directory, bucket], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (stderr = (stderr + s).slice(-4000)));

  let port: number;
  try {
    port = await waitForPort(child, timeoutMs, () => stderr);
  } catch (e) {
    await stopChild(child);
    await rm(directory, { recursive: true, force: true });
    throw e;
  }
  const endpoint = `http://127.0.0.1:${port}`;
  let stopped: Promise<void> | undefined;
  return {
    port,
    pid: child.pid!,
    endpoint,
    bucket,
    directory,
    clientConfig: {
      endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    },
    stop() {
      stopped ??= (async () => {
        await stopChild(child);
        await rm(directory, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

function waitForPort(child: ChildProcess, timeoutMs: number, stderr: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => fail(new Error(`s3rver did not start within ${timeoutMs} ms: ${stderr()}`)), timeoutMs);
    const onExit = (code: number | null) => fail(new Error(`s3rver exited (code ${code}) before listening: ${stderr()}`));
    const fail = (e: Error) => {
      clearTimeout(timer);
      child.off("exit", onExit);
      reject(e);
    };
    child.once("exit", onExit);
    child.stdout!.setEncoding("utf8").on("data", (s: string) => {
      out += s;
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line === undefined || !out.includes("\n")) return;
      clearTimeout(timer);
      child.off("exit", onExit);
      resolve((JSON.parse(line) as { port: number }).port);
    });
  });
}

/** SIGTERM by PID, SIGKILL after 5 s; resolves once the process is gone. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  process.kill(child.pid!, "SIGTERM");
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, "SIGKILL");
  }, 5_000);
  await exited;
  clearTimeout(timer);
}
