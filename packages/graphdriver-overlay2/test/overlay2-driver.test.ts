import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { lstat, mkdtemp, readFile, readdir, readlink, rm, stat, writeFile, access } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isStoreError } from "@store/errors";
import { GraphDriverErrorCode, createDriver, layerEntries, type GraphDriver } from "@store/graphdriver";
import type { TarEntry } from "@store/tar-split";
import { hasRoot, tarEntries, type EntrySpec } from "@store/test-peers";
import { createOverlay2Driver, linuxSyscalls, overlayExportHooks, registerOverlay2, type Overlay2Driver } from "../src/index";
import { isMountPoint } from "../src/mount-table";
import { snapshotTree } from "./tree-snapshot";

let tmp: string;
let driver: Overlay2Driver;

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), "gd-overlay2-"));
  driver = await createOverlay2Driver({ home: join(tmp, "overlay2") });
});
afterEach(async () => {
  await driver.cleanup();
  await rm(tmp, { recursive: true, force: true });
});

function mode(s: { mode: number }): number {
  return s.mode & 0o7777;
}

async function layer(id: string, parent: string | undefined, specs: EntrySpec[]): Promise<number> {
  await driver.create(id, parent);
  return driver.applyDiff(id, parent, tarEntries(specs));
}

async function refusal(promise: Promise<unknown>): Promise<Error & { code: string }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isStoreError(error), String(error)).toBe(true);
  return error as Error & { code: string };
}

describe.skipIf(!hasRoot())("overlay2 driver", () => {
  it("writes dockerd's layout with dockerd's modes", async () => {
    const home = driver.home;
    await driver.create("base");
    await driver.create("child", "base");

    expect(mode(await stat(home))).toBe(0o710);
    expect(mode(await stat(join(home, "l")))).toBe(0o700);
    for (const id of ["base", "child"]) {
      expect(mode(await stat(join(home, id)))).toBe(0o710);
      expect(mode(await stat(join(home, id, "diff")))).toBe(0o755);
      const link = await readFile(join(home, id, "link"), "utf8");
      expect(link).toMatch(/^[A-Z2-7]{26}$/);
      expect(mode(await stat(join(home, id, "link")))).toBe(0o644);
      expect(await readlink(join(home, "l", link))).toBe(`../${id}/diff`);
    }
    const baseLink = await readFile(join(home, "base", "link"), "utf8");
    expect(await readFile(join(home, "child", "lower"), "utf8")).toBe(`l/${baseLink}`);
    expect(mode(await stat(join(home, "child", "lower")))).toBe(0o644);
    expect(mode(await stat(join(home, "child", "work")))).toBe(0o700);
    expect(await readFile(join(home, "base", "committed"), "utf8")).toBe("");
    expect(mode(await stat(join(home, "base", "committed")))).toBe(0o600);
    expect((await readdir(join(home, "base"))).sort()).toEqual(["committed", "diff", "link"]);
    expect((await readdir(join(home, "child"))).sort()).toEqual(["diff", "link", "lower", "work"]);
    // The support check cleaned up after itself.
    expect((await readdir(home)).sort()).toEqual(["base", "child", "l"]);

    await driver.create("grandchild", "child");
    const childLink = await readFile(join(home, "child", "link"), "utf8");
    expect(await readFile(join(home, "grandchild", "lower"), "utf8")).toBe(`l/${childLink}:l/${baseLink}`);
    expect(await driver.metadata("grandchild")).toEqual({
      LowerDir: `${join(home, "child", "diff")}:${join(home, "base", "diff")}`,
      UpperDir: join(home, "grandchild", "diff"),
      WorkDir: join(home, "grandchild", "work"),
      MergedDir: join(home, "grandchild", "merged"),
    });
    expect(await driver.metadata("base")).not.toHaveProperty("LowerDir");
    expect(Object.fromEntries(await driver.status())).toMatchObject({ "Supports d_type": "true", "Backing Filesystem": "extfs" });
  });

  it("mounts, refcounts, unmounts and removes", async () => {
    await layer("base", undefined, [{ name: "etc/hostname", content: "base\n" }]);
    await driver.createReadWrite("rw", "base");

    // No parent: no mount, the diff dir is the view.
    expect(await driver.get("base")).toBe(join(driver.home, "base", "diff"));
    await driver.put("base");

    const merged = await driver.get("rw");
    expect(merged).toBe(join(driver.home, "rw", "merged"));
    expect(await isMountPoint(merged)).toBe(true);
    expect(mode(await stat(join(driver.home, "rw", "merged")))).not.toBe(0); // the mount's root
    expect(await readFile(join(merged, "etc/hostname"), "utf8")).toBe("base\n");
    await writeFile(join(merged, "etc/hostname"), "rw\n");
    expect(await readFile(join(driver.home, "rw", "diff", "etc/hostname"), "utf8")).toBe("rw\n");
    expect(await readFile(join(driver.home, "base", "diff", "etc/hostname"), "utf8")).toBe("base\n");

    expect(await driver.get("rw")).toBe(merged);
    await driver.put("rw");
    expect(await isMountPoint(merged)).toBe(true);
    expect((await refusal(driver.remove("rw"))).code).toBe(GraphDriverErrorCode.LayerBusy);
    await driver.put("rw");
    expect(await isMountPoint(merged)).toBe(false);
    await expect(access(merged)).rejects.toThrow();

    const link = await readFile(join(driver.home, "rw", "link"), "utf8");
    await driver.remove("rw");
    expect(await driver.exists("rw")).toBe(false);
    await expect(lstat(join(driver.home, "l", link))).rejects.toThrow();
    await driver.remove("rw"); // idempotent, as in dockerd
  });

  it("mounts a layer that has children read-only (lowerdir=diff:lowers)", async () => {
    await layer("base", undefined, [{ name: "a", content: "1" }]);
    await layer("mid", "base", [{ name: "b", content: "2" }]);
    await driver.create("top", "mid");
    const merged = await driver.get("mid");
    expect((await readdir(merged)).sort()).toEqual(["a", "b"]);
    const error = await writeFile(join(merged, "c"), "x").then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e.code,
    );
    expect(error).toBe("EROFS");
    await driver.put("mid");
  });

  it("stacks 128 lower layers, mounting with relative paths past a page of options", async () => {
    let parent: string | undefined;
    for (let i = 0; i <= 128; i++) {
      const id = `layer-${String(i).padStart(3, "0")}`;
      await layer(id, parent, [{ name: `f${i}`, content: `${i}` }]);
      parent = id;
    }
    const lower = await readFile(join(driver.home, parent!, "lower"), "utf8");
    expect(lower.split(":")).toHaveLength(128);
    expect(join(driver.home, "l", "X".repeat(26)).length * 128).toBeGreaterThan(4096);

    const merged = await driver.get(parent!);
    // The kernel shows the options as given: relative to the home.
    const mountinfo = (await readFile("/proc/self/mountinfo", "utf8")).split("\n").find((l) => l.split(" ")[4] === merged);
    expect(mountinfo).toContain(`lowerdir=l/`);
    expect(mountinfo).toContain(`upperdir=${parent}/diff`);
    expect(await readFile(join(merged, "f0"), "utf8")).toBe("0");
    expect(await readFile(join(merged, "f128"), "utf8")).toBe("128");
    expect(await readdir(merged)).toHaveLength(129);
    await driver.put(parent!);
    expect(await isMountPoint(merged)).toBe(false);

    const tooDeep = await refusal(driver.create("layer-129", parent));
    expect(tooDeep.code).toBe(GraphDriverErrorCode.MaxDepth);
    expect(tooDeep.message).toContain(parent!);
    expect(await driver.exists("layer-129")).toBe(false);
  });

  it("turns whiteouts and opaque markers into overlay's form, hidden in the mounted view", async () => {
    await layer("base", undefined, [
      { name: "a", content: "gone" },
      { name: "keep", content: "kept" },
      { name: "d/x", content: "x" },
      { name: "d/y", content: "y" },
    ]);
    await layer("upper", "base", [{ name: ".wh.a", uid: 7, gid: 8 }, { name: "d/" }, { name: "d/.wh..wh..opq" }, { name: "d/new", content: "new" }]);
    const diff = join(driver.home, "upper", "diff");
    const whiteout = await lstat(join(diff, "a"));
    expect(whiteout.isCharacterDevice()).toBe(true);
    expect(whiteout.rdev).toBe(0);
    expect([whiteout.uid, whiteout.gid]).toEqual([7, 8]);
    expect(Buffer.from(linuxSyscalls.lgetxattr(join(diff, "d"), "trusted.overlay.opaque")!).toString()).toBe("y");
    expect((await readdir(diff)).sort()).toEqual(["a", "d"]);
    expect(await readdir(join(diff, "d"))).toEqual(["new"]);

    await driver.createReadWrite("container", "upper");
    const merged = await driver.get("container");
    expect((await readdir(merged)).sort()).toEqual(["d", "keep"]);
    expect(await readdir(join(merged, "d"))).toEqual(["new"]);
    await driver.put("container");

    expect(await driver.changes("upper", "base")).toEqual([
      { path: "/a", kind: "delete" },
      { path: "/d", kind: "delete" },
      { path: "/d/new", kind: "add" },
    ]);
  });

  it("exports a layer as dockerd does and applies it elsewhere to the same tree", async () => {
    const mtime = new Date("2022-02-03T04:05:06Z");
    await layer("base", undefined, [{ name: "bin/" }, { name: "bin/sh", content: "sh" }, { name: "gone", content: "x" }, { name: "opq/old", content: "o" }]);
    const specs: EntrySpec[] = [
      { name: "bin/", mode: 0o755, mtime },
      { name: "bin/tool", content: "#!/bin/sh\necho hi\n", mode: 0o4755, uid: 10, gid: 20, mtime },
      { name: "bin/tool2", type: "hardlink", linkname: "bin/tool", mode: 0o4755, uid: 10, gid: 20, mtime },
      { name: "bin/sh", type: "symlink", linkname: "tool", mtime },
      { name: "dev/null", type: "char", devmajor: 1, devminor: 3, mode: 0o666, mtime },
      { name: "fifo", type: "fifo", mode: 0o640, mtime },
      { name: ".wh.gone", mtime },
      { name: "opq/", mode: 0o751, uid: 3, gid: 4, mtime },
      { name: "opq/.wh..wh..opq", mtime },
      { name: "opq/new", content: "n", xattrs: { "user.note": Buffer.from("hello") }, mtime },
      { name: "cap", content: "c", xattrs: { "security.capability": Buffer.from([1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) }, mtime },
    ];
    const size = await layer("src", "base", specs);
    expect(size).toBe(await driver.diffSize("src", "base"));
    expect(size).toBe(18 + 1 + 1 + "tool".length); // hardlinked content once, symlink by its target length

    // The export, as dockerd would put it in a tar.
    const srcDiff = join(driver.home, "src", "diff");
    const exported = [];
    for await (const entry of layerEntries(srcDiff, { hooks: overlayExportHooks(linuxSyscalls), syscalls: linuxSyscalls })) {
      exported.push(entry);
    }
    // Walk order is by the names on disk: the whiteout sorts as "gone", then is renamed.
    expect(exported.map((e) => `${e.header.type} ${e.header.name}`)).toEqual([
      "directory bin/",
      "symlink bin/sh",
      "file bin/tool",
      "hardlink bin/tool2",
      "file cap",
      "directory dev/",
      "char dev/null",
      "fifo fifo",
      "file .wh.gone",
      "directory opq/",
      "file opq/.wh..wh..opq",
      "file opq/new",
    ]);
    const byName = Object.fromEntries(exported.map((e) => [e.header.name, e.header]));
    expect(byName[".wh.gone"]).toMatchObject({ mode: 0o600, size: 0, uid: 0 });
    expect(byName[".wh.gone"]!.rawMode).toBeUndefined();
    expect(byName["bin/tool"]).toMatchObject({ mode: 0o4755, rawMode: 0o104755, uid: 10, gid: 20, size: 18, mtime });
    expect(byName["bin/tool2"]).toMatchObject({ linkname: "bin/tool", size: 0 });
    expect(byName["opq/.wh..wh..opq"]).toMatchObject({ mode: 0o751, uid: 3, gid: 4, mtime: new Date(0) });
    expect(byName["dev/null"]).toMatchObject({ devmajor: 1, devminor: 3 });
    expect(Object.keys(byName.cap!.xattrs!)).toEqual(["security.capability"]);
    expect(byName["opq/new"]!.xattrs).toEqual({}); // dockerd exports security.capability only

    // Re-apply the exported entries to a fresh layer: the same tree, bar the xattr dockerd drops.
    await driver.create("copy", "base");
    await driver.applyDiff("copy", "base", asTarEntries(exported));
    const copyDiff = join(driver.home, "copy", "diff");
    const [a, b] = [await snapshotTree(srcDiff), await snapshotTree(copyDiff)];
    expect(b).toEqual(a);
    expect(linuxSyscalls.lgetxattr(join(srcDiff, "opq/new"), "user.note")).toBeDefined();
    expect(await driver.changes("copy", "base")).toEqual(await driver.changes("src", "base"));
  });

  it("reports changes against the parent as dockerd does", async () => {
    await layer("base", undefined, [{ name: "etc/passwd", content: "root" }, { name: "etc/group", content: "g" }, { name: "tmp/" }]);
    await layer("next", "base", [
      { name: "etc/", mtime: new Date(0) },
      { name: "etc/passwd", content: "root\nuser" },
      { name: "etc/.wh.group" },
      { name: "new/file", content: "n" },
    ]);
    expect(await driver.changes("next", "base")).toEqual([
      { path: "/etc", kind: "modify" },
      { path: "/etc/group", kind: "delete" },
      { path: "/etc/passwd", kind: "modify" },
      { path: "/new", kind: "add" },
      { path: "/new/file", kind: "add" },
    ]);
    expect(await driver.changes("base")).toEqual([
      { path: "/etc", kind: "add" },
      { path: "/etc/group", kind: "add" },
      { path: "/etc/passwd", kind: "add" },
      { path: "/tmp", kind: "add" },
    ]);
    expect(await driver.diffSize("next", "base")).toBe("root\nuser".length + 1);
    expect((await refusal(driver.changes("next", "other"))).code).toBe(GraphDriverErrorCode.InvalidParent);
    expect((await refusal(driver.diffSize("next"))).code).toBe(GraphDriverErrorCode.InvalidParent);
  });

  describe("refuses crafted layers and leaves the layer empty", () => {
    const cases: Array<[string, EntrySpec[], string, string]> = [
      ["path traversal", [{ name: "../x", content: "evil" }], GraphDriverErrorCode.Breakout, "../x"],
      [
        "a symlink to / then a path through it",
        [
          { name: "a", type: "symlink", linkname: "/" },
          { name: "a/etc/passwd", content: "evil" },
        ],
        GraphDriverErrorCode.Breakout,
        "a/etc/passwd",
      ],
      [
        "a symlink to ..",
        [
          { name: "d/f", content: "ok" },
          { name: "up", type: "symlink", linkname: ".." },
          { name: "up/x", content: "evil" },
        ],
        GraphDriverErrorCode.Breakout,
        "up/x",
      ],
      [
        "a hardlink out",
        [
          { name: "f", content: "ok" },
          { name: "pw", type: "hardlink", linkname: "../../etc/passwd" },
        ],
        GraphDriverErrorCode.Breakout,
        "pw",
      ],
      [
        "a duplicate path",
        [
          { name: "f", content: "1" },
          { name: "./f", content: "2" },
        ],
        GraphDriverErrorCode.DuplicateEntry,
        "./f",
      ],
      ["a whiteout of an existing entry", [{ name: "f", content: "1" }, { name: ".wh.f" }], GraphDriverErrorCode.ApplyFailed, ".wh.f"],
    ];
    it.each(cases)("%s", async (_, specs, code, entry) => {
      await driver.create("bad");
      const error = await refusal(driver.applyDiff("bad", undefined, tarEntries(specs)));
      expect(error.code).toBe(code);
      expect(error.message).toContain(JSON.stringify(entry));
      expect(error.message).toContain("bad");
      const diff = join(driver.home, "bad", "diff");
      expect(await readdir(diff)).toEqual([]);
      expect(mode(await stat(diff))).toBe(0o755);
      expect((await readdir(tmp)).sort()).toEqual(["overlay2"]);
      // The layer is usable afterwards.
      expect(await driver.applyDiff("bad", undefined, tarEntries([{ name: "ok", content: "1" }]))).toBe(1);
    });

    it("an absolute path lands inside the layer", async () => {
      await layer("abs", undefined, [{ name: "/etc/abs-test", content: "in" }]);
      expect(await readFile(join(driver.home, "abs", "diff", "etc/abs-test"), "utf8")).toBe("in");
    });
  });

  it("refuses bad ids, missing parents, existing layers, storage options and a second apply", async () => {
    for (const id of ["", ".", "..", "a/b", "x\0"]) {
      expect((await refusal(driver.create(id))).code).toBe(GraphDriverErrorCode.InvalidId);
    }
    const missing = await refusal(driver.create("c", "nope"));
    expect(missing.code).toBe(GraphDriverErrorCode.LayerNotFound);
    expect(missing.message).toContain("nope");
    expect(await driver.exists("c")).toBe(false);

    await layer("base", undefined, [{ name: "f", content: "1" }]);
    expect((await refusal(driver.create("base"))).code).toBe(GraphDriverErrorCode.LayerExists);
    expect(await readFile(join(driver.home, "base", "diff", "f"), "utf8")).toBe("1");
    expect((await refusal(driver.create("q", undefined, { storageOpt: { size: "1G" } }))).code).toBe(GraphDriverErrorCode.Unsupported);
    const again = await refusal(driver.applyDiff("base", undefined, tarEntries([{ name: "g", content: "2" }])));
    expect(again.code).toBe(GraphDriverErrorCode.NotEmpty);
    expect(await readdir(join(driver.home, "base", "diff"))).toEqual(["f"]);
    expect((await refusal(driver.get("nope"))).code).toBe(GraphDriverErrorCode.LayerNotFound);
    expect((await refusal(createOverlay2Driver({ home: join(tmp, "x"), options: { "overlay2.size": "1G" } }))).code).toBe(GraphDriverErrorCode.InvalidOption);
  });

  it("mounts once for concurrent gets and unmounts after the last put", async () => {
    await layer("base", undefined, [{ name: "f", content: "1" }]);
    await driver.createReadWrite("rw", "base");
    const paths = await Promise.all([driver.get("rw"), driver.get("rw"), driver.get("rw")]);
    expect(new Set(paths).size).toBe(1);
    const mounts = (await readFile("/proc/self/mountinfo", "utf8")).split("\n").filter((l) => l.split(" ")[4] === paths[0]);
    expect(mounts).toHaveLength(1);
    await Promise.all([driver.put("rw"), driver.put("rw")]);
    expect(await isMountPoint(paths[0]!)).toBe(true);
    await driver.put("rw");
    expect(await isMountPoint(paths[0]!)).toBe(false);
  });

  it("refuses a home on an overlay filesystem, saying why", async () => {
    await layer("base", undefined, [{ name: "d/" }]);
    await driver.createReadWrite("rw", "base");
    const merged = await driver.get("rw");
    try {
      const error = await refusal(createOverlay2Driver({ home: join(merged, "d", "nested") }));
      expect(error.code).toBe(GraphDriverErrorCode.Unsupported);
      expect(error.message).toContain(join(merged, "d", "nested"));
      expect(error.message).toMatch(/backing filesystem overlayfs/);
    } finally {
      await driver.put("rw");
    }
  });

  it("is registered as overlay2 and chosen by the registry", async () => {
    registerOverlay2();
    const root = join(tmp, "root");
    const byName: GraphDriver = await createDriver({ root, name: "overlay2" });
    expect(byName.name).toBe("overlay2");
    expect(byName.home).toBe(join(root, "overlay2"));
    const chosen = await createDriver({ root });
    expect(chosen.name).toBe("overlay2");
  });
});

/** Exported entries as a parser would hand them back (content as a stream). */
async function* asTarEntries(entries: Array<{ header: Record<string, unknown>; body?: AsyncIterable<Uint8Array> | Uint8Array }>): AsyncGenerator<TarEntry> {
  const { entryHeader } = await import("@store/test-peers");
  for (const { header, body } of entries) {
    const chunks: Uint8Array[] = [];
    if (body !== undefined) {
      if (body instanceof Uint8Array) chunks.push(body);
      else for await (const chunk of body) chunks.push(chunk);
    }
    const content = Buffer.concat(chunks);
    const h = entryHeader({ ...(header as unknown as EntrySpec), content });
    yield {
      header: h,
      body: (async function* () {
        if (content.length > 0) yield content;
      })(),
    };
  }
}
