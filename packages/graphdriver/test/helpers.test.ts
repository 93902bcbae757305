import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { link, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isStoreError } from "@store/errors";
import { GraphDriverErrorCode, assertLayerId, deviceNumbers, directorySize, layerEntries, walkTree } from "../src/index";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "gd-helpers-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("directorySize", () => {
  it("sums non-directories, counting a hardlinked inode once", async () => {
    await mkdir(join(dir, "d"));
    await writeFile(join(dir, "d/a"), "12345");
    await link(join(dir, "d/a"), join(dir, "b"));
    await symlink("d/a", join(dir, "s"));
    await writeFile(join(dir, "empty"), "");
    expect(await directorySize(dir)).toBe(5 + 3);
  });
});

describe("walkTree", () => {
  it("walks in Go's byte order, directories before their contents", async () => {
    for (const name of ["b", "a", "B", "é", "z"]) await writeFile(join(dir, name), "");
    await mkdir(join(dir, "a.d"));
    await writeFile(join(dir, "a.d/x"), "");
    const names: string[] = [];
    for await (const f of walkTree(dir)) names.push(f.relativePath);
    expect(names).toEqual(["B", "a", "a.d", "a.d/x", "b", "z", "é"]);
  });
});

describe("layerEntries", () => {
  it("emits the second name of an inode as a hardlink and directories with a slash", async () => {
    await mkdir(join(dir, "d"));
    await writeFile(join(dir, "d/a"), "abc");
    await link(join(dir, "d/a"), join(dir, "d/b"));
    const headers = [];
    for await (const { header } of layerEntries(dir)) headers.push(header);
    expect(headers.map((h) => [h.name, h.type, h.size, h.linkname])).toEqual([
      ["d/", "directory", 0, ""],
      ["d/a", "file", 3, ""],
      ["d/b", "hardlink", 0, "d/a"],
    ]);
    expect(headers[1]!.mtime!.getMilliseconds()).toBe(0);
  });
});

describe("deviceNumbers", () => {
  it("splits a dev_t as glibc's major()/minor()", () => {
    expect(deviceNumbers(259)).toEqual({ major: 1, minor: 3 });
    expect(deviceNumbers(0)).toEqual({ major: 0, minor: 0 });
    expect(deviceNumbers(0x1_2345_6789)).toEqual({ major: 0x567, minor: 0x123489 });
    // makedev(0x12345, 0x67): the high bits of the major sit above bit 32.
    expect(deviceNumbers(0x12000 * 2 ** 32 + 0x34567)).toEqual({ major: 0x12345, minor: 0x67 });
  });
});

describe("assertLayerId", () => {
  it.each(["", ".", "..", "a/b", "a\0", "x".repeat(256)])("refuses %j", (id) => {
    let error: unknown;
    try {
      assertLayerId(id);
    } catch (e) {
      error = e;
    }
    expect(isStoreError(error, GraphDriverErrorCode.InvalidId)).toBe(true);
  });
});
