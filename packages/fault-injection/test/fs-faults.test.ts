import { closeSync, openSync, writeSync } from "node:fs";
import { mkdir, open, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { atomicWriteFile } from "@store/internal";
import { tempDir } from "@store/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { type FsFaults, armFsFaults, installFsFaults } from "../src";

installFsFaults();

describe("armFsFaults", () => {
  let faults: FsFaults | undefined;
  afterEach(() => faults?.disarm());

  it("counts the writes, renames, fsyncs and deletes under its directories only", async () => {
    const { path, remove } = await tempDir("fault-injection-");
    try {
      const inside = join(path, "root");
      await mkdir(inside);
      faults = armFsFaults({ under: [inside] });
      await atomicWriteFile(join(inside, "a.json"), "{}", 0o644); // open(wx), writeFile, fsync, rename, fsync of the dir
      await writeFile(join(path, "outside"), "x");
      const fd = openSync(join(inside, "b"), "w");
      writeSync(fd, "bytes");
      closeSync(fd);
      await rm(join(inside, "b"));
      // rm of a file is counted twice: rm itself, then the unlink Node's rimraf calls through fs.
      expect({ ...faults.counts }).toEqual({ write: 4, rename: 1, fsync: 2, delete: 2 });
      expect(faults.count).toBe(9);
    } finally {
      await remove();
    }
  });

  it("fails the Nth call with EIO or ENOSPC, shaped as Node's own errors, and only that one", async () => {
    const { path, remove } = await tempDir("fault-injection-");
    try {
      faults = armFsFaults({ under: [path], failAt: 2, fault: "ENOSPC" });
      await writeFile(join(path, "one"), "1");
      const error = (await writeFile(join(path, "two"), "2").catch((e: unknown) => e)) as NodeJS.ErrnoException;
      expect([error.code, error.syscall, error.message]).toEqual(["ENOSPC", "writeFile", `ENOSPC: no space left on device, writeFile '${join(path, "two")}'`]);
      await writeFile(join(path, "three"), "3");
      expect(faults.fired).toMatchObject({ n: 2, op: "write", fault: "ENOSPC" });
      faults = armFsFaults({ under: [path], failAt: 1, fault: "EIO", ops: ["fsync"] });
      const handle = await open(join(path, "one"), "r+");
      await expect(handle.sync()).rejects.toMatchObject({ code: "EIO", syscall: "fsync" });
      await handle.close();
      await rename(join(path, "one"), join(path, "four"));
      expect(await readFile(join(path, "four"), "utf8")).toBe("1");
    } finally {
      await remove();
    }
  });

  it("keeps a full disk full with sticky ENOSPC: later writes fail, deletes still work", async () => {
    const { path, remove } = await tempDir("fault-injection-");
    try {
      faults = armFsFaults({ under: [path], failAt: 2, fault: "ENOSPC", sticky: true });
      await writeFile(join(path, "one"), "1");
      await expect(writeFile(join(path, "two"), "2")).rejects.toMatchObject({ code: "ENOSPC" });
      expect(() => openSync(join(path, "three"), "w")).toThrow(/no space left on device/);
      await rm(join(path, "one"));
    } finally {
      await remove();
    }
  });
});
