import { execFileSync, spawn } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type S3rverPeer, startS3rver } from "@store/test-peers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isRoot, makeTar, tempDir } from "./helpers";

const app = resolve(__dirname, "..");
const launcher = join(app, "bin/store.js");

interface BinResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Runs the built binary through its committed launcher, as `npx store` does. */
function bin(args: string[], options: { stdin?: Buffer; env?: Record<string, string> } = {}): Promise<BinResult> {
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, [launcher, ...args], { env: { PATH: process.env.PATH ?? "", HOME: "/nonexistent", ...options.env } });
    const out: Buffer[] = [];
    let err = "";
    p.stdout.on("data", (b: Buffer) => out.push(b));
    p.stderr.setEncoding("utf8").on("data", (s: string) => (err += s));
    p.on("error", fail);
    p.on("close", (code) => done({ code: code ?? -1, stdout: Buffer.concat(out), stderr: err }));
    p.stdin.on("error", () => {});
    p.stdin.end(options.stdin);
  });
}

/**
 * Starts the binary with `head` on its stdin and the pipe left open (the command is then busy
 * extracting, waiting for the rest), waits until a layer dir appears under `root`, sends `signal`.
 * A command that does not stop hangs here (the test's timeout), as it would hang for a user.
 */
function interrupted(args: string[], root: string, head: Buffer, signal: NodeJS.Signals, times = 1): Promise<BinResult> {
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, [launcher, "--root", root, ...args], { env: { PATH: process.env.PATH ?? "", HOME: "/nonexistent" } });
    let err = "";
    p.stderr.setEncoding("utf8").on("data", (t: string) => (err += t));
    p.stdout.resume();
    p.on("error", fail);
    p.on("close", (code) => done({ code: code ?? -1, stdout: Buffer.alloc(0), stderr: err }));
    p.stdin.on("error", () => {});
    p.stdin.write(head);
    const started = Date.now();
    const poll = setInterval(() => {
      void readdir(join(root, "overlay2")).then(
        (names) => {
          if (names.some((n) => n !== "l") || Date.now() - started > 10_000) {
            clearInterval(poll);
            // Late enough that every byte written was read: the command now waits on the open
            // pipe for more, which a signal must still interrupt.
            setTimeout(() => {
              p.kill(signal);
              // An impatient second Ctrl-C, right after the first, while the undo runs.
              if (times > 1) setTimeout(() => p.kill(signal), 3);
            }, 300);
          }
        },
        () => undefined,
      );
    }, 20);
  });
}

// A few runs of the real binary (bundle, shebang launcher, exit codes, pipes); the commands
// themselves are tested in-process.
describe("the built store binary", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let s3: S3rverPeer | undefined;

  beforeAll(async () => {
    execFileSync("npx", ["tsup"], { cwd: app, stdio: "ignore" });
    ({ dir, cleanup } = await tempDir());
  }, 120_000);
  afterAll(async () => {
    await s3?.stop();
    await cleanup?.();
  });

  it("answers --version and --help, and fails usage errors with 125 and one line", async () => {
    expect((await bin(["--version"])).stdout.toString()).toMatch(/^store version /);
    const help = await bin(["images", "--help"]);
    expect([help.code, help.stdout.toString().split("\n")[0]]).toEqual([0, "Usage:  store images [OPTIONS] [REPOSITORY[:TAG]]"]);
    const bad = await bin(["images", "--bogus"]);
    expect([bad.code, bad.stderr]).toEqual([125, "store: unknown flag: --bogus (see 'store images --help')\n"]);
  });

  it.runIf(isRoot)("removes a half-extracted layer when Ctrl-C or SIGTERM stops a load or an import", async () => {
    const big = await makeTar({ "big.bin": "x".repeat(8 << 20) });
    const archive = await makeTar({ "0123/layer.tar": big.toString("latin1") });
    for (const [args, head, signal, code] of [
      [["import", "-", "cut:1"], big.subarray(0, 3 << 20), "SIGINT", 130],
      [["load"], Buffer.from(archive.toString("latin1").slice(0, 3 << 20), "latin1"), "SIGTERM", 143],
      // Ctrl-C twice in a row: the second waits for the undo instead of leaving the layer behind.
      [["load"], Buffer.from(archive.toString("latin1").slice(0, 3 << 20), "latin1"), "SIGINT", 130],
    ] as const) {
      const root = join(dir, `interrupted-${args[0]}-${signal}`);
      const r = await interrupted([...args], root, head, signal, args[0] === "load" && signal === "SIGINT" ? 2 : 1);
      expect(r.code, args[0]).toBe(code);
      // A second signal during the undo is told to wait; nothing else is printed.
      expect(["", "store: undoing what was half written; interrupt again to exit at once and leave it\n"], args[0]).toContain(r.stderr);
      expect(
        (await readdir(join(root, "overlay2"))).filter((n) => n !== "l"),
        args[0],
      ).toEqual([]);
      expect(await readdir(join(root, "overlay2", "l")).catch(() => []), args[0]).toEqual([]);
    }
  });

  it.runIf(isRoot)("runs writing commands on one root one at a time: parallel imports of one layer leave one copy", async () => {
    const root = join(dir, "parallel");
    const tar = await makeTar({ "big.bin": "p".repeat(8 << 20), "small.txt": "s\n" });
    const runs = await Promise.all([1, 2, 3, 4].map((i) => bin(["--root", root, "import", "-m", `run ${i}`, "-", `par:${i}`], { stdin: tar })));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const listed = await bin(["--root", root, "images", "--format", "{{.Repository}}:{{.Tag}}"]);
    expect(listed.stdout.toString().trim().split("\n").sort()).toEqual(["par:1", "par:2", "par:3", "par:4"]);
    // Without the turn-taking each process extracted its own copy, and three stayed orphaned.
    expect((await readdir(join(root, "overlay2"))).filter((n) => n !== "l")).toHaveLength(1);
    expect((await bin(["--root", root, "rmi", "par:1", "par:2", "par:3"])).code).toBe(0);
    expect((await bin(["--root", root, "verify"])).stdout.toString()).toBe("1 image config, 1 layer checked: all verified\n");
    expect(await readdir(root)).not.toContain("store.lock");

    // `store save | head -c 10`: the reader leaves early; exit 141 as docker does, not 0.
    const cut = await new Promise<number | null>((done) => {
      const p = spawn(process.execPath, [launcher, "--root", root, "save", "par:4"], { env: { PATH: process.env.PATH ?? "", HOME: "/nonexistent" } });
      p.stdout.once("data", () => p.stdout.destroy());
      p.stderr.resume();
      p.on("close", (code) => done(code));
    });
    expect(cut).toBe(141);
  });

  it.runIf(isRoot)("imports from a pipe, saves to a pipe and loads it into another root", async () => {
    const root = join(dir, "a");
    const tar = await makeTar({ "hello.txt": "hi\n" });
    const imported = await bin(["import", "-", "piped:1"], { env: { STORE_ROOT: root }, stdin: tar });
    expect([imported.code, imported.stderr]).toEqual([0, ""]);
    const id = imported.stdout.toString().trim();
    const saved = await bin(["--root", root, "save", "piped:1"]);
    expect([saved.code, saved.stderr]).toEqual([0, ""]);
    const loaded = await bin(["--root", join(dir, "b"), "load"], { stdin: saved.stdout });
    expect(loaded.stdout.toString()).toBe("Loaded image: piped:1\n");
    const listed = await bin(["--root", join(dir, "b"), "images", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}"]);
    expect(listed.stdout.toString()).toBe(`${id} piped:1\n`);
    const missing = await bin(["--root", root, "rmi", "nosuch"]);
    expect([missing.code, missing.stderr]).toEqual([1, "store: No such image: nosuch:latest\n"]);
  });

  it.runIf(isRoot)("keeps the imagedb on S3 with --backend s3 (layers stay under the root)", async () => {
    s3 = await startS3rver({ bucket: "cli-test" });
    const root = join(dir, "s3root");
    const env = {
      STORE_S3_BUCKET: s3.bucket,
      STORE_S3_ENDPOINT: s3.endpoint,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: s3.clientConfig.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.clientConfig.credentials.secretAccessKey,
    };
    const imported = await bin(["--root", root, "--backend", "s3", "--s3-prefix", "host-a", "import", "-", "ons3:1"], {
      env,
      stdin: await makeTar({ f: "x\n" }),
    });
    expect([imported.code, imported.stderr]).toEqual([0, ""]);
    const listed = await bin(["--root", root, "--backend", "s3", "--s3-prefix", "host-a", "images", "--format", "{{.Repository}}:{{.Tag}}"], { env });
    expect(listed.stdout.toString()).toBe("ons3:1\n");
    // The local imagedb holds nothing: the config went to the bucket.
    await expect(readdir(join(root, "image/overlay2/imagedb/content/sha256"))).rejects.toThrow();
    const noBucket = await bin(["--root", root, "--backend", "s3", "images"]);
    expect([noBucket.code, noBucket.stderr]).toEqual([1, "store: --backend s3 needs a bucket: --s3-bucket or STORE_S3_BUCKET\n"]);
  });
});
