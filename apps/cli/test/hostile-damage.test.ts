import { spawn } from "node:child_process";
import { mkdir, stat, readFile, readdir, rm, utimes, writeFile } from "node:fs/promises";
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

  it("verify reports leftovers as reclaimable and bad distribution records as damage; --repair removes them past the grace period", async () => {
    const root = join(dir, "leftovers");
    const imported = await bin(["--root", root, "import", "-", "y:1"], await makeTar({ "f.txt": "y\n" }));
    expect(imported.code, imported.stderr).toBe(0);
    const image = join(root, "image/overlay2");
    // An overlay2 dir nothing owns (a crashed load's), a record naming no layer, one that does not parse, a partial download.
    const orphan = "e".repeat(64);
    await mkdir(join(root, "overlay2", orphan, "diff"), { recursive: true });
    await writeFile(join(root, "overlay2", orphan, "diff", "big"), Buffer.alloc(10_000, 1));
    const byDigest = join(image, "distribution/diffid-by-digest/sha256");
    await mkdir(byDigest, { recursive: true });
    await writeFile(join(byDigest, "c".repeat(64)), `sha256:${"b".repeat(64)}`);
    await writeFile(join(byDigest, "a".repeat(64)), "sha256:zz");
    await mkdir(join(image, "partial-downloads"), { recursive: true });
    await writeFile(join(image, "partial-downloads", `sha256-${"d".repeat(64)}`), Buffer.alloc(3000));

    const verified = await bin(["--root", root, "verify"]);
    expect(verified.code).toBe(1);
    const lines = verified.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^corrupt: distribution record distribution\/diffid-by-digest\/sha256\/a{64}: .*"sha256:zz" is not a diff ID$/);
    expect(lines).toContain(`reclaimable: overlay2 dir ${orphan} (10kB): no layer or mount owns it`);
    expect(lines).toContain(
      `reclaimable: distribution record distribution/diffid-by-digest/sha256/${"c".repeat(64)} (71B): no layer has diff ID sha256:${"b".repeat(64)}`,
    );
    expect(lines.some((l) => /^reclaimable: partial download sha256-d{64} \(3kB\)/.test(l))).toBe(true);
    expect(lines.at(-2)).toMatch(/^4 leftovers reclaimable \(\d+(\.\d+)?kB\): store verify --repair removes them$/);
    expect(lines.at(-1)).toBe("1 image config, 1 layer checked: 1 problem");

    // Within the grace period (default 1h) nothing goes.
    const young = await bin(["--root", root, "verify", "--repair"]);
    expect(young.stdout).toContain("0 leftovers removed, 0B freed");
    expect(await readdir(join(root, "overlay2"))).toContain(orphan);
    // Two hours old: removed, with the bytes freed; the image's own layer is untouched.
    const old = (Date.now() - 2 * 3600_000) / 1000;
    for (const p of [
      join(root, "overlay2", orphan),
      join(byDigest, "c".repeat(64)),
      join(byDigest, "a".repeat(64)),
      join(image, "partial-downloads", `sha256-${"d".repeat(64)}`),
    ])
      await utimes(p, old, old);
    const repaired = await bin(["--root", root, "verify", "--repair"]);
    expect(repaired.code, repaired.stdout).toBe(0);
    expect(repaired.stdout).toMatch(/corrupt: .* \(removed\)\n/);
    expect(repaired.stdout).toContain(`removed: overlay2 dir ${orphan} (10kB)`);
    expect(repaired.stdout).toMatch(/4 leftovers removed, \d+(\.\d+)?kB freed\n1 image config, 1 layer checked: all verified\n$/);
    expect((await bin(["--root", root, "verify"])).stdout).toBe("1 image config, 1 layer checked: all verified\n");
    expect((await bin(["--root", root, "images", "--format", "{{.Repository}}:{{.Tag}}"])).stdout).toBe("y:1\n");
    expect(await readdir(root)).not.toContain("store.lock");

    const bad = await bin(["--root", root, "verify", "--repair", "--repair-grace", "soon"]);
    expect([bad.code, bad.stderr.trimEnd().split("\n").length]).toEqual([125, 1]);
    expect(bad.stderr).toContain('invalid --repair-grace "soon"');
  });

  it("what a writer killed mid-write leaves (temp files, layerdb write-sets and removals) is reclaimable, and repaired", async () => {
    const root = join(dir, "temps");
    const imported = await bin(["--root", root, "import", "-", "t:1"], await makeTar({ "f.txt": "t\n" }));
    expect(imported.code, imported.stderr).toBe(0);
    const image = join(root, "image/overlay2");
    const temps = [
      join(root, ".tmp-store.lock-4242-0-abcd1234"),
      join(image, ".tmp-repositories.json123456"),
      join(image, "imagedb/content/sha256", `.tmp-${"f".repeat(64)}0a1b2c3d4e5f`),
    ];
    for (const t of temps) await writeFile(t, "half");
    const writeSet = join(image, "layerdb/tmp/write-set-123");
    await mkdir(writeSet, { recursive: true });
    await writeFile(join(writeSet, "diff"), "sha256:x");
    const removing = join(image, "layerdb/sha256", `${"9".repeat(64)}-${"8".repeat(64)}-removing`);
    await mkdir(removing, { recursive: true });
    const verified = await bin(["--root", root, "verify"]);
    expect(verified.code, verified.stdout).toBe(0);
    const reclaimable = verified.stdout.split("\n").filter((l) => l.startsWith("reclaimable: unfinished write"));
    expect(reclaimable).toHaveLength(5);
    const old = (Date.now() - 2 * 3600_000) / 1000;
    for (const p of [...temps, writeSet, removing]) await utimes(p, old, old);
    const repaired = await bin(["--root", root, "verify", "--repair"]);
    expect(repaired.code, repaired.stdout).toBe(0);
    // The write-set and the removal are the layer store's own: a writing open finishes them
    // (as dockerd does at start) before repair looks; the temp files repair removes.
    expect(repaired.stdout).toMatch(/3 leftovers removed/);
    for (const p of [...temps, writeSet, removing]) await expect(stat(p)).rejects.toThrow();
    expect((await bin(["--root", root, "verify"])).stdout).toBe("1 image config, 1 layer checked: all verified\n");
  });

  it("repair never removes a driver dir a layer with a damaged cache-id may own", async () => {
    const root = join(dir, "cache-id");
    const imported = await bin(["--root", root, "import", "-", "z:1"], await makeTar({ "f.txt": "z\n" }));
    expect(imported.code, imported.stderr).toBe(0);
    const layerdb = join(root, "image/overlay2/layerdb/sha256");
    const [chain] = await readdir(layerdb);
    const cacheId = (await readFile(join(layerdb, chain!, "cache-id"), "utf8")).trim();
    await writeFile(join(layerdb, chain!, "cache-id"), "f".repeat(64));
    const verified = await bin(["--root", root, "verify"]);
    expect(verified.code).toBe(1);
    expect(verified.stdout).toContain(`reclaimable: overlay2 dir ${cacheId} `);
    expect(verified.stdout).toContain(`--repair keeps it: layer sha256:${chain} names no driver dir in its cache-id and may own it`);
    const repaired = await bin(["--root", root, "verify", "--repair", "--repair-grace", "0s"]);
    expect(repaired.stdout).toContain(`kept: overlay2 dir ${cacheId} `);
    expect(repaired.stdout).toContain("0 leftovers removed, 0B freed");
    expect(await readdir(join(root, "overlay2"))).toContain(cacheId);
  });
});
