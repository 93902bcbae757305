import { mkdir, mkdtemp, readFile, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type SyncFs, atomicWriteFile, syncDirectory, writeFileSynced } from "../src/index";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "internal-write-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("atomicWriteFile", () => {
  it("replaces a file with exactly the mode asked, leaving no temp file", async () => {
    const path = join(dir, "repositories.json");
    await atomicWriteFile(path, "old", 0o644);
    await atomicWriteFile(path, new TextEncoder().encode("new"), 0o600);
    expect(await readFile(path, "utf8")).toBe("new");
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(["repositories.json"]);
  });

  it("refuses a target it cannot replace with a clear error, and loses nothing", async () => {
    const target = join(dir, "taken");
    await mkdir(target);
    await atomicWriteFile(join(target, "inside"), "kept", 0o600);
    const error = await atomicWriteFile(target, "data", 0o600).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: expect.stringMatching(/^(EISDIR|ENOTEMPTY|EEXIST)$/) });
    expect(await readdir(dir)).toEqual(["taken"]); // the temp file is gone
    expect(await readFile(join(target, "inside"), "utf8")).toBe("kept");
    await expect(atomicWriteFile(join(dir, "missing", "file"), "x", 0o600)).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("writeFileSynced", () => {
  it("writes with the mode asked, and with wx refuses to replace", async () => {
    const path = join(dir, "cache-id");
    await writeFileSynced(path, "abc", 0o644);
    expect((await stat(path)).mode & 0o777).toBe(0o644);
    await expect(writeFileSynced(path, "other", 0o644, "wx")).rejects.toMatchObject({ code: "EEXIST" });
    expect(await readFile(path, "utf8")).toBe("abc");
  });
});

describe("syncDirectory", () => {
  it("throws fsync errors instead of swallowing them", async () => {
    await syncDirectory(dir);
    await expect(syncDirectory(join(dir, "gone"))).rejects.toMatchObject({ code: "ENOENT" });
    // A file system whose fsync fails (EIO on a dying disk): the error reaches the caller, and the
    // handle is closed all the same.
    let closed = false;
    const failing: SyncFs = {
      open: async () => ({
        sync: async () => {
          throw Object.assign(new Error("EIO: i/o error, fsync"), { code: "EIO" });
        },
        close: async () => {
          closed = true;
        },
      }),
    };
    await expect(syncDirectory(dir, failing)).rejects.toMatchObject({ code: "EIO" });
    expect(closed).toBe(true);
  });
});
