import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdir, readdir, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isRoot, makeTar, tempDir } from "./helpers";

// Issue 15 item 2: reads of a damaged root never leave it and never block, through the built
// binary and a real overlay2 root, as a user would meet them.
const launcher = resolve(__dirname, "../bin/store.js");
const SECRET = "OUTSIDE-THE-ROOT-SECRET";

interface Run {
  code: number;
  stdout: Buffer;
  stderr: string;
  ms: number;
}

/** Runs the binary; with `term`, sends SIGTERM `term` ms after the start. */
function bin(args: string[], term?: number): Promise<Run> {
  return new Promise((done, fail) => {
    const started = Date.now();
    const p = spawn(process.execPath, [launcher, ...args], { env: { PATH: process.env.PATH ?? "", HOME: "/nonexistent" } });
    const out: Buffer[] = [];
    let err = "";
    p.stdout.on("data", (b: Buffer) => out.push(b));
    p.stderr.setEncoding("utf8").on("data", (s: string) => (err += s));
    p.on("error", fail);
    if (term !== undefined) setTimeout(() => p.kill("SIGTERM"), term);
    p.on("close", (code, signal) => done({ code: code ?? (signal ? 128 + 15 : -1), stdout: Buffer.concat(out), stderr: err, ms: Date.now() - started }));
  });
}

describe.runIf(isRoot)("reads of a damaged overlay2 root", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir("store-reads-"));
  });
  afterAll(async () => {
    await cleanup();
  });

  /** A root holding one imported image `r:1` (files a.txt, sub/b.txt) and the path of its layer's diff dir. */
  async function rootWithImage(name: string): Promise<{ root: string; diff: string }> {
    const root = join(dir, name);
    const tar = await makeTar({ "a.txt": "inside a\n", "sub/b.txt": "inside b\n" });
    const imported = await new Promise<number | null>((done) => {
      const p = spawn(process.execPath, [launcher, "--root", root, "import", "-", "r:1"], { env: { PATH: process.env.PATH ?? "", HOME: "/nonexistent" } });
      p.stdout.resume();
      p.stderr.resume();
      p.on("close", done);
      p.stdin.end(tar);
    });
    expect(imported).toBe(0);
    const [id] = (await readdir(join(root, "overlay2"))).filter((n) => n !== "l");
    return { root, diff: join(root, "overlay2", id!, "diff") };
  }

  /** A directory outside the root holding the layer's names, with other bytes. */
  async function outside(name: string): Promise<string> {
    const o = join(dir, name);
    await mkdir(join(o, "sub"), { recursive: true });
    await writeFile(join(o, "a.txt"), `${SECRET} a\n`);
    await writeFile(join(o, "sub/b.txt"), `${SECRET} b\n`);
    await writeFile(join(o, "b.txt"), `${SECRET} b\n`);
    return o;
  }

  const oneLine = (r: Run) => {
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr.trimEnd().split("\n"), r.stderr).toHaveLength(1);
  };

  it("refuses a diff dir that is a symlink out of the root: save fails with one line and no outside byte", async () => {
    const { root, diff } = await rootWithImage("diff-link");
    const o = await outside("diff-link-outside");
    await rm(diff, { recursive: true });
    await symlink(o, diff);
    const toStdout = await bin(["--root", root, "save", "r:1"]);
    oneLine(toStdout);
    expect(toStdout.stderr).toMatch(/symlink/);
    expect(toStdout.stdout.includes(SECRET)).toBe(false);
    const file = join(dir, "diff-link.tar");
    const toFile = await bin(["--root", root, "save", "-o", file, "r:1"]);
    oneLine(toFile);
    expect((await readdir(dir)).filter((n) => n.includes("diff-link.tar"))).toEqual([]);
    const verified = await bin(["--root", root, "verify"]);
    expect(verified.code).toBe(1);
    expect(verified.stdout.toString()).toMatch(/^corrupt: .*symlink.*\n.*1 problem\n$/);
    expect(verified.stdout.includes(SECRET)).toBe(false);
  });

  it("refuses a symlink planted on the way to a file (sub -> outside)", async () => {
    const { root, diff } = await rootWithImage("sub-link");
    const o = await outside("sub-link-outside");
    await rm(join(diff, "sub"), { recursive: true });
    await symlink(o, join(diff, "sub"));
    const saved = await bin(["--root", root, "save", "r:1"]);
    oneLine(saved);
    expect(saved.stdout.includes(SECRET)).toBe(false);
    expect(saved.stderr).toMatch(/sub\/b\.txt/);
  });

  it("refuses a FIFO planted in a layer at once: verify and save fail fast with one line, SIGTERM still honoured", async () => {
    const { root, diff } = await rootWithImage("fifo");
    await rm(join(diff, "a.txt"));
    execFileSync("mkfifo", [join(diff, "a.txt")]);
    const verified = await bin(["--root", root, "verify"]);
    expect(verified.ms).toBeLessThan(5000);
    expect(verified.code).toBe(1);
    expect(verified.stdout.toString()).toMatch(/^corrupt: .*a\.txt".*not a regular file.*\n.*1 problem\n$/);
    const saved = await bin(["--root", root, "save", "-o", join(dir, "fifo.tar"), "r:1"]);
    expect(saved.ms).toBeLessThan(5000);
    oneLine(saved);
    expect(saved.stderr).toMatch(/not a regular file/);
    expect(await readdir(dir)).not.toContain("fifo.tar");
    // A signal during either: exits as a signal asks (143), or has already failed (1); never hangs.
    for (const args of [["verify"], ["save", "-o", join(dir, "fifo2.tar"), "r:1"]]) {
      const r = await bin(["--root", root, ...args], 150);
      expect(r.ms).toBeLessThan(5000);
      expect([1, 143]).toContain(r.code);
    }
    expect(await readdir(dir)).not.toContain("fifo2.tar");
  });

  it("a file changed in place (same size) aborts save before the archive's end: exit 1, no end blocks, no file", async () => {
    const { root, diff } = await rootWithImage("tampered");
    await writeFile(join(diff, "a.txt"), "INSIDE A\n");
    const saved = await bin(["--root", root, "save", "r:1"]);
    oneLine(saved);
    expect(saved.stderr).toMatch(/could not verify layer data/);
    // Whatever was streamed, the archive never got its end: no config, manifest.json or
    // repositories after the layer, so no loader takes it for an image.
    const listed = spawnSync("tar", ["-t"], { input: saved.stdout, encoding: "utf8" });
    expect(listed.stdout).toMatch(/layer\.tar/);
    expect(listed.stdout).not.toMatch(/manifest\.json|repositories/);
    const file = join(dir, "tampered.tar");
    oneLine(await bin(["--root", root, "save", "-o", file, "r:1"]));
    expect((await readdir(dir)).filter((n) => n.includes("tampered.tar"))).toEqual([]);
  });

  it("SIGTERM while verify or save reads a large layer: exit 143 at once, no output file", async () => {
    const root = join(dir, "large");
    const work = join(dir, "large-src");
    await mkdir(work);
    execFileSync("truncate", ["-s", "192M", join(work, "big")]);
    execFileSync("tar", ["-cf", join(dir, "large.tar"), "-C", work, "big"]);
    const imported = await bin(["--root", root, "import", join(dir, "large.tar"), "big:1"]);
    expect(imported.code, imported.stderr).toBe(0);
    await rm(join(dir, "large.tar"));
    const out = join(dir, "large-out.tar");
    for (const args of [["verify"], ["save", "-o", out, "big:1"]]) {
      const r = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((done) => {
        const p = spawn(process.execPath, [launcher, "--root", root, ...args], { env: { PATH: process.env.PATH ?? "", HOME: "/nonexistent" } });
        p.stdout.resume();
        p.stderr.resume();
        let sent = 0;
        // Signalled once the process has the layer's big file open: mid-read.
        // Polls overlap (each awaits): one signal only, or a third would exit without the undo.
        const poll = setInterval(async () => {
          const fds = await readdir(`/proc/${p.pid}/fd`).catch(() => [] as string[]);
          for (const fd of fds) {
            if ((await readlink(`/proc/${p.pid}/fd/${fd}`).catch(() => "")).endsWith("/diff/big")) {
              if (sent) return;
              clearInterval(poll);
              sent = Date.now();
              p.kill("SIGTERM");
              return;
            }
          }
        }, 5);
        p.on("close", (code, signal) => {
          clearInterval(poll);
          done({ code, signal, ms: sent ? Date.now() - sent : -1 });
        });
      });
      expect(r.ms, args[0]).toBeGreaterThanOrEqual(0);
      expect(r.ms).toBeLessThan(5000);
      expect(r.code ?? r.signal, args[0]).toBe(143);
    }
    expect((await readdir(dir)).filter((n) => n.includes("large-out"))).toEqual([]);
  });
});
