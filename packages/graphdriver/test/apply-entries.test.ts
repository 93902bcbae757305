import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtemp, rm, lstat, readFile, readlink, readdir, mkdir, stat } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isStoreError } from "@store/errors";
import { hasRoot, tarEntries, type EntrySpec } from "@store/test-peers";
import { applyEntries, directorySize, GraphDriverErrorCode, type ApplyOptions } from "../src/index";

let tmp: string;
let root: string;

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), "gd-apply-"));
  root = join(tmp, "root");
  await mkdir(root);
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function apply(specs: EntrySpec[], options?: ApplyOptions) {
  return applyEntries(root, tarEntries(specs), options);
}

/** Runs `specs`, expects a StoreError with `code` whose message names `entry`, and nothing outside the root. */
async function expectRefused(specs: EntrySpec[], code: string, entry: string, options?: ApplyOptions) {
  const error = await apply(specs, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isStoreError(error, code), String(error)).toBe(true);
  expect((error as Error).message).toContain(JSON.stringify(entry));
  expect(await readdir(tmp)).toEqual(["root"]);
  return error as Error;
}

const mtime = new Date("2021-06-07T08:09:10Z");

describe("applyEntries", () => {
  it("writes files, directories, symlinks and hardlinks with their metadata", async () => {
    const result = await apply([
      { name: "./", mode: 0o755 },
      { name: "bin/", mode: 0o711, mtime },
      { name: "bin/tool", content: "#!/bin/sh\n", mode: 0o4755, uid: 1234, gid: 5678, mtime },
      { name: "bin/alias", type: "hardlink", linkname: "bin/tool", mode: 0o4755, uid: 1234, gid: 5678, mtime },
      { name: "bin/sh", type: "symlink", linkname: "/bin/tool", mtime },
      { name: "deep/er/file", content: "x" },
    ]);
    // The root entry is skipped; diskSize is only known for an extraction into an empty root.
    expect(result).toEqual({ size: 11, entries: 5, ignoredXattrs: [], diskSize: undefined });

    const tool = await lstat(join(root, "bin/tool"));
    expect(tool.mode & 0o7777).toBe(0o4755); // setuid survives chown
    expect(tool.mtime.getTime()).toBe(mtime.getTime());
    expect(tool.nlink).toBe(2);
    expect((await lstat(join(root, "bin/alias"))).ino).toBe(tool.ino);
    if (hasRoot()) expect([tool.uid, tool.gid]).toEqual([1234, 5678]);
    expect(await readFile(join(root, "bin/tool"), "utf8")).toBe("#!/bin/sh\n");

    const sh = await lstat(join(root, "bin/sh"));
    expect(sh.isSymbolicLink()).toBe(true);
    expect(await readlink(join(root, "bin/sh"))).toBe("/bin/tool");
    expect(sh.mtime.getTime()).toBe(mtime.getTime());

    // Directory times are applied after their contents were written.
    const bin = await stat(join(root, "bin"));
    expect(bin.mode & 0o7777).toBe(0o711);
    expect(bin.mtime.getTime()).toBe(mtime.getTime());
    // Implicit parents are created 0755, as dockerd does.
    expect((await stat(join(root, "deep/er"))).mode & 0o7777).toBe(0o755);
  });

  it("writes a large file that arrives in many uneven pieces byte for byte (gathered into fewer writes)", async () => {
    const content = Buffer.alloc(3 * 1024 * 1024 + 12345);
    for (let i = 0; i < content.length; i++) content[i] = (i * 7 + (i >> 11)) & 0xff;
    const entries = (async function* () {
      for await (const entry of tarEntries([{ name: "big", content, mode: 0o640, mtime }])) {
        yield {
          header: entry.header,
          body: (async function* () {
            // Pieces of 1 byte to ~40 KiB, as a request body or a decompressor hands them out.
            for (let at = 0, n = 1; at < content.length; at += n, n = ((n * 31) % 40_000) + 1) yield content.subarray(at, at + n);
          })(),
        };
      }
    })();
    const result = await applyEntries(root, entries);
    expect(result.size).toBe(content.length);
    expect((await readFile(join(root, "big"))).equals(content)).toBe(true);
    const st = await stat(join(root, "big"));
    expect([st.mode & 0o777, st.mtime.getTime()]).toEqual([0o640, mtime.getTime()]);
  });

  it("replaces an existing entry and merges directories", async () => {
    await apply([
      { name: "a/", mode: 0o700 },
      { name: "a/f", content: "1" },
    ]);
    await apply([
      { name: "a/", mode: 0o750 },
      { name: "a/f", type: "symlink", linkname: "g" },
    ]);
    expect((await stat(join(root, "a"))).mode & 0o777).toBe(0o750);
    expect(await readlink(join(root, "a/f"))).toBe("g");
  });

  it("takes absolute names relative to the root, as dockerd does", async () => {
    const name = `/etc/graphdriver-test-${process.pid}-${Date.now()}`;
    await apply([{ name, content: "inside" }]);
    expect(await readFile(join(root, name), "utf8")).toBe("inside");
    expect(existsSync(name)).toBe(false);
  });

  it("refuses a name that climbs out of the root", async () => {
    await expectRefused([{ name: "../x", content: "evil" }], GraphDriverErrorCode.Breakout, "../x");
    await expectRefused([{ name: "a/../../x", content: "evil" }], GraphDriverErrorCode.Breakout, "a/../../x");
  });

  it("refuses to write through a symlink planted by an earlier entry", async () => {
    const error = await expectRefused(
      [
        { name: "a", type: "symlink", linkname: "/" },
        { name: "a/etc/passwd", content: "root::0:0::/:/bin/sh\n" },
      ],
      GraphDriverErrorCode.Breakout,
      "a/etc/passwd",
    );
    expect(error.message).toMatch(/symlink/);
    // The symlink itself was fine (absolute targets resolve inside the container at run time).
    expect(await readlink(join(root, "a"))).toBe("/");
  });

  it("keeps symlinks pointing anywhere, but never writes through one", async () => {
    // Real layers hold relative links that climb past the root; the kernel stops `..` at `/`.
    await apply([
      { name: "usr/lib/libx.so", type: "symlink", linkname: "../../../../lib/libx.so.1" },
      { name: "up", type: "symlink", linkname: ".." },
    ]);
    expect(await readlink(join(root, "usr/lib/libx.so"))).toBe("../../../../lib/libx.so.1");
    await rm(root, { recursive: true });
    await mkdir(root);
    await expectRefused(
      [
        { name: "d/up", type: "symlink", linkname: "../.." },
        { name: "d/up/x", content: "through" },
      ],
      GraphDriverErrorCode.Breakout,
      "d/up/x",
    );
  });

  it("refuses a path whose directory was replaced by a symlink earlier in the stream", async () => {
    await expectRefused(
      [
        { name: "a/b", content: "1" },
        { name: "a", type: "symlink", linkname: "/" },
        { name: "a/c", content: "2" },
      ],
      GraphDriverErrorCode.Breakout,
      "a/c",
    );
  });

  it("refuses hardlinks to anything outside the root", async () => {
    await expectRefused([{ name: "pw", type: "hardlink", linkname: "../../etc/passwd" }], GraphDriverErrorCode.Breakout, "pw");
    // Absolute targets are inside the root (and /etc/passwd is not in this layer).
    await expectRefused([{ name: "pw", type: "hardlink", linkname: "/etc/passwd" }], GraphDriverErrorCode.ApplyFailed, "pw");
    await expectRefused(
      [
        { name: "s", type: "symlink", linkname: "/etc" },
        { name: "pw2", type: "hardlink", linkname: "s/passwd" },
      ],
      GraphDriverErrorCode.Breakout,
      "pw2",
    );
  });

  it("refuses the same cleaned path twice", async () => {
    await expectRefused(
      [
        { name: "a/b", content: "1" },
        { name: "./a//b/", type: "directory" },
      ],
      GraphDriverErrorCode.DuplicateEntry,
      "./a//b/",
    );
  });

  it("refuses device nodes when not privileged, and without syscalls", async () => {
    const dev: EntrySpec = { name: "dev/null", type: "char", devmajor: 1, devminor: 3, mode: 0o666 };
    const error = await expectRefused([dev], GraphDriverErrorCode.Permission, "dev/null", { privileged: false });
    expect(error.message).toMatch(/needs root/);
    await rm(root, { recursive: true });
    await mkdir(root);
    await expectRefused([dev], GraphDriverErrorCode.Unsupported, "dev/null", { privileged: true });
  });

  it("refuses xattrs it cannot apply rather than dropping them", async () => {
    await expectRefused([{ name: "f", content: "x", xattrs: { "user.k": Buffer.from("v") } }], GraphDriverErrorCode.Unsupported, "f");
  });

  it("refuses to replace the root with a non-directory", async () => {
    await expectRefused([{ name: "./", type: "symlink", linkname: "/" }], GraphDriverErrorCode.Breakout, "./");
  });

  it("applies ownership only when privileged", async () => {
    await apply([{ name: "f", content: "x", uid: 4321, gid: 4321 }], { privileged: false });
    const f = await lstat(join(root, "f"));
    expect(f.uid).toBe(process.getuid!());
  });

  it("keeps the hooks' decision: a converted entry is not written", async () => {
    const seen: string[] = [];
    await apply([{ name: "a/.wh.b" }, { name: "a/c", content: "x" }], {
      hooks: {
        convert: ({ relativePath }) => {
          seen.push(relativePath);
          return !relativePath.includes(".wh.");
        },
      },
    });
    expect(seen).toEqual(["a/.wh.b", "a/c"]);
    expect(await readdir(join(root, "a"))).toEqual(["c"]);
  });

  // Past the first 64 small files of a layer, files go to the writer thread in batches.
  describe("many small files (the writer thread)", () => {
    const many = (n: number): EntrySpec[] =>
      Array.from({ length: n }, (_, i) => ({
        name: `d${i % 7}/f${i}`,
        content: "x".repeat(i % 50),
        mode: i % 10 === 0 ? 0o4750 : 0o640,
        uid: 1000 + (i % 3),
        gid: 2000 + (i % 5),
        mtime: new Date(mtime.getTime() + i * 1000),
      }));

    it("writes each with its content, mode, owner and times", async () => {
      const specs = many(500);
      const result = await apply(specs, { emptyRoot: true });
      expect(result.entries).toBe(500);
      for (const spec of specs) {
        const path = join(root, spec.name);
        const st = await lstat(path);
        expect(st.mode & 0o7777, spec.name).toBe(spec.mode);
        expect(st.mtime.getTime(), spec.name).toBe(spec.mtime!.getTime());
        if (hasRoot()) expect([st.uid, st.gid], spec.name).toEqual([spec.uid, spec.gid]);
        expect(await readFile(path, "utf8")).toBe(spec.content);
      }
    });

    it("names the file the writer thread failed on, and writes nothing after the error returns", async () => {
      const specs = many(300);
      specs.splice(200, 0, { name: `d1/${"n".repeat(300)}`, content: "too long a name" });
      const error = await expectRefused(specs, GraphDriverErrorCode.ApplyFailed, `d1/${"n".repeat(300)}`, { emptyRoot: true });
      expect(error.message).toMatch(/ENAMETOOLONG/);
      // Whatever was in flight has landed: the caller may remove the root at once.
      const before = (await readdir(join(root, "d1"))).length;
      await new Promise((r) => setTimeout(r, 50));
      expect((await readdir(join(root, "d1"))).length).toBe(before);
    });
  });

  it("knows the size dockerd's directory walk finds, without walking, for an empty root", async () => {
    const specs: EntrySpec[] = [
      { name: "big", content: new Uint8Array(300 * 1024).fill(7) },
      { name: "empty", content: "" },
      { name: "link", type: "symlink", linkname: "bïg/ünïcode" }, // sizes are bytes, not characters
      { name: "hard", type: "hardlink", linkname: "big" }, // one inode: counted once
      { name: "hard-to-link", type: "hardlink", linkname: "link" },
      { name: "dir/", type: "directory" }, // directories are not counted
      ...Array.from({ length: 150 }, (_, i) => ({ name: `dir/f${i}`, content: "y".repeat(i) })),
    ];
    const result = await apply(specs, { emptyRoot: true });
    expect(result.diskSize).toBe(await directorySize(root));
    expect(result.diskSize).toBeGreaterThan(300 * 1024);
  });

  it("leaves diskSize unknown when a whiteout lands on a name the layer wrote", async () => {
    const result = await apply([{ name: "a/b", content: "gone" }, { name: "a/.wh.b" }], {
      emptyRoot: true,
      hooks: { convert: ({ relativePath }) => !relativePath.includes(".wh.") },
    });
    expect(result.diskSize).toBeUndefined();
  });

  it("lets timers run while it extracts entries that are all at hand", async () => {
    // Entries made in memory resolve as microtasks, and directories and symlinks are created with
    // synchronous calls: without turns of the event loop, no timer could fire until the end.
    const specs: EntrySpec[] = Array.from({ length: 3000 }, (_, i) =>
      i % 2 === 0 ? { name: `d${i}/`, type: "directory" as const } : { name: `l${i}`, type: "symlink" as const, linkname: `d${i - 1}` },
    );
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      const result = await apply(specs);
      expect(result.entries).toBe(3000);
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThan(0);
  });
});
