import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import type { CliIO } from "../src/cli-io";
import { runCli } from "../src/main";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  stdin?: string | Uint8Array;
  env?: Record<string, string>;
  /** Pretend stdin / stdout are terminals. */
  stdinTTY?: boolean;
  stdoutTTY?: boolean;
}

function capture(tty: boolean): { stream: PassThrough & { isTTY?: boolean }; text: () => string } {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean };
  if (tty) stream.isTTY = true;
  const chunks: Buffer[] = [];
  stream.on("data", (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString("utf8") };
}

/** Runs `store ARGS` in-process with captured streams. */
export async function store(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const out = capture(options.stdoutTTY ?? false);
  const err = capture(false);
  const stdin = Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin)]) as Readable & { isTTY?: boolean };
  if (options.stdinTTY) stdin.isTTY = true;
  const io: CliIO = { stdout: out.stream, stderr: err.stream, stdin, env: { HOME: "/nonexistent", ...options.env } };
  const code = await runCli(args, io);
  await new Promise((r) => setImmediate(r));
  return { code, stdout: out.text(), stderr: err.text() };
}

/** A temp dir removed by the returned cleanup. */
export async function tempDir(prefix = "store-cli-"): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export { makeTar } from "@store/test-support";

/** Whether overlay mounts can work here (layers unpack through the overlay2 driver). */
export const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
