import { describe, expect, it } from "vitest";
import { isStoreError } from "@store/errors";
import type { TarHeader } from "@store/tar-split";
import { GraphDriverErrorCode } from "../src/index";
import { ExtractPolicy, type PathKind } from "../src/extract-policy";

// The policy touches no file: a table stands for the root, and the test plays the writer's part
// (what place() says is missing or replaced, it creates or removes in the table).

function header(name: string, type: TarHeader["type"] = "file", linkname = ""): TarHeader {
  return {
    name,
    type,
    linkname,
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: 0,
    mtime: new Date(0),
    devmajor: 0,
    devminor: 0,
    uname: "",
    gname: "",
  } as unknown as TarHeader;
}

function fixture(initial: Record<string, PathKind> = {}, options: { emptyRoot?: boolean } = {}) {
  const disk = new Map(Object.entries(initial));
  const lookups: Array<{ path: string; written: boolean }> = [];
  const policy = new ExtractPolicy(async (path, written) => {
    lookups.push({ path, written });
    return disk.get(path);
  }, options);
  /** Places `h` and carries the placement out on the table, as the extractor does. */
  const apply = async (h: TarHeader) => {
    const placement = await policy.place(h);
    if (placement.skip) return placement;
    for (const dir of placement.missingDirs) disk.set(dir, "directory");
    if (placement.replace)
      for (const key of [...disk.keys()]) if (key === placement.relativePath || key.startsWith(`${placement.relativePath}/`)) disk.delete(key);
    disk.set(placement.relativePath, h.type === "directory" ? "directory" : h.type === "symlink" ? "symlink" : "other");
    if (h.type === "directory") policy.directoryWritten(placement.relativePath);
    return placement;
  };
  return { disk, lookups, policy, apply };
}

async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isStoreError(error), String(error)).toBe(true);
  return error as { code: string; message: string };
}

describe("ExtractPolicy", () => {
  it("creates missing parents outermost first, and in an empty root looks at nothing it did not create", async () => {
    const f = fixture({}, { emptyRoot: true });
    const placement = await f.apply(header("/usr/local/bin/tool"));
    expect(placement).toEqual({
      skip: false,
      relativePath: "usr/local/bin/tool",
      missingDirs: ["usr", "usr/local", "usr/local/bin"],
      existing: undefined,
      replace: false,
    });
    expect(f.lookups).toEqual([]);
    // A later entry for a directory it created: looked at (it exists), merged, not replaced.
    const again = await f.apply(header("usr/local/", "directory"));
    expect(again).toMatchObject({ relativePath: "usr/local", missingDirs: [], existing: "directory", replace: false });
    expect(f.lookups).toEqual([{ path: "usr/local", written: true }]);
  });

  it("looks at every path in a root that was not empty, telling which ones it wrote itself", async () => {
    const f = fixture({ etc: "directory", "etc/passwd": "other" });
    expect(await f.apply(header("etc/passwd"))).toMatchObject({ existing: "other", replace: true, missingDirs: [] });
    expect(f.lookups).toEqual([
      { path: "etc", written: false },
      { path: "etc/passwd", written: false },
    ]);
    await f.apply(header("etc/x/", "directory"));
    f.lookups.length = 0;
    await f.apply(header("etc/x/y"));
    // etc/x is known to be a real directory now: only the entry's own path is looked at.
    expect(f.lookups).toEqual([{ path: "etc/x/y", written: false }]);
  });

  it("skips the root directory and refuses names that climb out, repeat, or replace the root", async () => {
    const f = fixture();
    expect(await f.apply(header("./", "directory"))).toEqual({ skip: true });
    expect((await refusal(f.policy.place(header("../etc/passwd")))).code).toBe(GraphDriverErrorCode.Breakout);
    expect((await refusal(f.policy.place(header("a/../../x")))).code).toBe(GraphDriverErrorCode.Breakout);
    await f.apply(header("a/b"));
    const twice = await refusal(f.policy.place(header("./a//b")));
    expect(twice.code).toBe(GraphDriverErrorCode.DuplicateEntry);
    expect(twice.message).toContain('"a/b"');
    expect((await refusal(fixture().policy.place(header("/", "symlink", "/etc")))).code).toBe(GraphDriverErrorCode.Breakout);
  });

  it("never lets an entry through a symlink, even one an earlier entry put where a directory was", async () => {
    const f = fixture({ a: "directory" });
    await f.apply(header("a/x"));
    // The directory is replaced by a symlink: what the policy knew of it is forgotten.
    expect(await f.apply(header("a", "symlink", "/etc"))).toMatchObject({ existing: "directory", replace: true });
    const through = await refusal(f.policy.place(header("a/passwd")));
    expect(through.code).toBe(GraphDriverErrorCode.Breakout);
    expect(through.message).toContain('"a" on the way is a symlink');
    // A regular file on the way is no directory either.
    await f.apply(header("file"));
    expect((await refusal(f.policy.place(header("file/x")))).code).toBe(GraphDriverErrorCode.ApplyFailed);
  });

  it("takes hardlink targets only inside the root, existing, not directories, below real directories", async () => {
    const f = fixture({ lib: "symlink", dir: "directory", "dir/file": "other", "dir/sub": "directory" });
    expect(await f.policy.hardlinkTarget("/dir/file")).toEqual({ relativePath: "dir/file", kind: "other" });
    expect((await refusal(f.policy.hardlinkTarget("../outside"))).code).toBe(GraphDriverErrorCode.Breakout);
    expect((await refusal(f.policy.hardlinkTarget("/"))).code).toBe(GraphDriverErrorCode.Breakout);
    expect((await refusal(f.policy.hardlinkTarget("lib/libc.so"))).code).toBe(GraphDriverErrorCode.Breakout);
    expect((await refusal(f.policy.hardlinkTarget("dir/missing"))).message).toContain("does not exist");
    expect((await refusal(f.policy.hardlinkTarget("dir/sub"))).message).toContain("is a directory");
    expect((await refusal(f.policy.hardlinkTarget("nowhere/file"))).message).toContain("does not exist");
  });

  it("knows when a whiteout or a replacement undid something this extraction wrote", async () => {
    const f = fixture({}, { emptyRoot: true });
    await f.apply(header("a/keep"));
    await f.apply(header("a/gone"));
    expect(f.policy.replacedOwnWrite).toBe(false);
    await f.apply(header("a/.wh.other"));
    expect(f.policy.whiteout("a/.wh.other")).toBe("a/other");
    expect(f.policy.replacedOwnWrite).toBe(false); // nothing of ours was there
    await f.apply(header("a/.wh.gone"));
    f.policy.whiteout("a/.wh.gone");
    expect(f.policy.replacedOwnWrite).toBe(true);
  });
});
