import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtemp, rm, lstat, readFile, readlink, readdir, mkdir, stat } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isStoreError } from "@store/errors";
import { hasRoot, tarEntries, type EntrySpec } from "@store/test-peers";
import { applyEntries, GraphDriverErrorCodes, type ApplyOptions } from "../src/index";

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
    expect(result).toEqual({ size: 11, entries: 5, ignoredXattrs: [] }); // the root entry is skipped

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

  it("replaces an existing entry and merges directories", async () => {
    await apply([{ name: "a/", mode: 0o700 }, { name: "a/f", content: "1" }]);
    await apply([{ name: "a/", mode: 0o750 }, { name: "a/f", type: "symlink", linkname: "g" }]);
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
    await expectRefused([{ name: "../x", content: "evil" }], GraphDriverErrorCodes.breakout, "../x");
    await expectRefused([{ name: "a/../../x", content: "evil" }], GraphDriverErrorCodes.breakout, "a/../../x");
  });

  it("refuses to write through a symlink planted by an earlier entry", async () => {
    const error = await expectRefused(
      [
        { name: "a", type: "symlink", linkname: "/" },
        { name: "a/etc/passwd", content: "root::0:0::/:/bin/sh\n" },
      ],
      GraphDriverErrorCodes.breakout,
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
      GraphDriverErrorCodes.breakout,
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
      GraphDriverErrorCodes.breakout,
      "a/c",
    );
  });

  it("refuses hardlinks to anything outside the root", async () => {
    await expectRefused(
      [{ name: "pw", type: "hardlink", linkname: "../../etc/passwd" }],
      GraphDriverErrorCodes.breakout,
      "pw",
    );
    // Absolute targets are inside the root (and /etc/passwd is not in this layer).
    await expectRefused([{ name: "pw", type: "hardlink", linkname: "/etc/passwd" }], GraphDriverErrorCodes.applyFailed, "pw");
    await expectRefused(
      [
        { name: "s", type: "symlink", linkname: "/etc" },
        { name: "pw2", type: "hardlink", linkname: "s/passwd" },
      ],
      GraphDriverErrorCodes.breakout,
      "pw2",
    );
  });

  it("refuses the same cleaned path twice", async () => {
    await expectRefused(
      [{ name: "a/b", content: "1" }, { name: "./a//b/", type: "directory" }],
      GraphDriverErrorCodes.duplicateEntry,
      "./a//b/",
    );
  });

  it("refuses device nodes when not privileged, and without syscalls", async () => {
    const dev: EntrySpec = { name: "dev/null", type: "char", devmajor: 1, devminor: 3, mode: 0o666 };
    const error = await expectRefused([dev], GraphDriverErrorCodes.permission, "dev/null", { privileged: false });
    expect(error.message).toMatch(/needs root/);
    await rm(root, { recursive: true });
    await mkdir(root);
    await expectRefused([dev], GraphDriverErrorCodes.unsupported, "dev/null", { privileged: true });
  });

  it("refuses xattrs it cannot apply rather than dropping them", async () => {
    await expectRefused(
      [{ name: "f", content: "x", xattrs: { "user.k": Buffer.from("v") } }],
      GraphDriverErrorCodes.unsupported,
      "f",
    );
  });

  it("refuses to replace the root with a non-directory", async () => {
    await expectRefused([{ name: "./", type: "symlink", linkname: "/" }], GraphDriverErrorCodes.breakout, "./");
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
});
