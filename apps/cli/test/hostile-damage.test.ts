import { spawn } from "node:child_process";
import { readFile, readdir, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isRoot, makeTar, tempDir } from "./helpers";

// Issue 15 item 3: damage to a root is always detected, through the built binary and a real
// overlay2 root.
const launcher = resolve(__dirname, "../bin/store.js");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function bin(args: string[], stdin?: Buffer): Promise<Run> {
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, [launcher, ...args], { env: { PATH: process.env.PATH ?? "", HOME: "/nonexistent" } });
    let out = "";
    let err = "";
    p.stdout.setEncoding("utf8").on("data", (s: string) => (out += s));
    p.stderr.setEncoding("utf8").on("data", (s: string) => (err += s));
    p.on("error", fail);
    p.on("close", (code) => done({ code: code ?? -1, stdout: out, stderr: err }));
    p.stdin.on("error", () => {});
    p.stdin.end(stdin);
  });
}

describe.runIf(isRoot)("damage in a root is detected", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir("store-damage-"));
  });
  afterAll(async () => {
    await cleanup();
  });

  it("a config changed on disk after the record cache was written is not listed by `images`", async () => {
    const root = join(dir, "cache");
    for (const [tag, body] of [
      ["one:1", "one\n"],
      ["two:1", "two\n"],
    ] as const) {
      const r = await bin(["--root", root, "import", "-", tag], await makeTar({ "f.txt": body }));
      expect(r.code, r.stderr).toBe(0);
    }
    const listed = await bin(["--root", root, "images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]);
    expect(
      listed.stdout
        .split("\n")
        .filter(Boolean)
        .map((l) => l.split(" ")[0])
        .sort(),
    ).toEqual(["one:1", "two:1"]);
    // The record cache now holds both; tamper one config in place, keeping its size.
    const id = (await bin(["--root", root, "inspect", "--format", "{{.Id}}", "one:1"])).stdout.trim().slice("sha256:".length);
    const file = join(root, "image/overlay2/imagedb/content/sha256", id);
    const bytes = await readFile(file);
    await writeFile(file, Buffer.from(bytes.toString("latin1").replace('"os":"linux"', '"os":"linuy"'), "latin1"));
    expect((await readFile(file)).byteLength).toBe(bytes.byteLength);
    const after = await bin(["--root", root, "images", "--format", "{{.Repository}}:{{.Tag}}"]);
    expect(after.stdout).toBe("two:1\n");
    const verified = await bin(["--root", root, "verify"]);
    expect(verified.code).toBe(1);
    expect(verified.stdout).toContain(id);
  });

  it("a load over a damaged layer of the same chain ID replaces it: the image is there afterwards, retries leak nothing", async () => {
    const root = join(dir, "reload");
    const imported = await bin(["--root", root, "import", "-", "x:1"], await makeTar({ "f.txt": "hi\n" }));
    expect(imported.code, imported.stderr).toBe(0);
    const archive = join(dir, "x.tar");
    expect((await bin(["--root", root, "save", "-o", archive, "x:1"])).code).toBe(0);
    const layerdb = join(root, "image/overlay2/layerdb/sha256");
    const [chain] = await readdir(layerdb);
    const drivers = async () => (await readdir(join(root, "overlay2"))).filter((n) => n !== "l").sort();
    const images = async () => (await bin(["--root", root, "images", "--format", "{{.Repository}}:{{.Tag}}"])).stdout;

    // The case: layerdb's `diff` file holds garbage.
    await writeFile(join(layerdb, chain!, "diff"), "garbage\n");
    const loaded = await bin(["--root", root, "load", "-i", archive]);
    expect([loaded.code, loaded.stdout, loaded.stderr]).toEqual([0, "Loaded image: x:1\n", ""]);
    expect(await images()).toBe("x:1\n");
    const after = await drivers();
    for (let i = 0; i < 3; i++) expect((await bin(["--root", root, "load", "-i", archive])).code).toBe(0);
    expect(await drivers()).toEqual(after);
    expect((await bin(["--root", root, "save", "x:1"])).code).toBe(0);

    // Its overlay2 dir gone: replaced the same way.
    const cacheId = (await readFile(join(layerdb, chain!, "cache-id"), "utf8")).trim();
    await rm(join(root, "overlay2", cacheId), { recursive: true });
    const again = await bin(["--root", root, "load", "-i", archive]);
    expect([again.code, again.stdout]).toEqual([0, "Loaded image: x:1\n"]);
    expect(await images()).toBe("x:1\n");
    const replaced = await drivers();
    expect((await bin(["--root", root, "load", "-i", archive])).code).toBe(0);
    expect(await drivers()).toEqual(replaced);
    const saved = await bin(["--root", root, "save", "x:1"]);
    expect([saved.code, saved.stderr]).toEqual([0, ""]);
  });
});
