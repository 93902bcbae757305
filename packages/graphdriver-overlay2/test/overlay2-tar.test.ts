import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { link, mkdir, mkdtemp, rm, symlink, writeFile, chmod, lchown, utimes, lutimes, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { directorySize } from "@store/graphdriver";
import { parseTar } from "@store/tar-split";
import { hasRoot, tarEntries } from "@store/test-peers";
import { createOverlay2Driver, type Overlay2Driver } from "../src/index";
import { snapshotTree } from "./tree-snapshot";

const execFileAsync = promisify(execFile);

let tmp: string;
let driver: Overlay2Driver;

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), "gd-overlay2-tar-"));
  driver = await createOverlay2Driver({ home: join(tmp, "overlay2") });
});
afterEach(async () => {
  await driver.cleanup();
  await rm(tmp, { recursive: true, force: true });
});

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

describe.skipIf(!hasRoot())("overlay2 with real tars", () => {
  it("applies an archive made by GNU tar", async () => {
    const src = join(tmp, "src");
    const t = new Date("2019-05-06T07:08:09Z");
    await mkdir(join(src, "usr/bin"), { recursive: true });
    await writeFile(join(src, "usr/bin/prog"), "binary");
    await chmod(join(src, "usr/bin/prog"), 0o2755);
    await lchown(join(src, "usr/bin/prog"), 100, 200);
    await link(join(src, "usr/bin/prog"), join(src, "usr/bin/prog2"));
    await symlink("usr/bin", join(src, "bin"));
    const long = `${"d".repeat(120)}/${"f".repeat(150)}`;
    await mkdir(join(src, "d".repeat(120)));
    await writeFile(join(src, long), "long name");
    await writeFile(join(src, "ünïcode"), "u");
    for (const p of ["usr/bin/prog", long, "ünïcode", "usr/bin", "usr", "d".repeat(120)]) await utimes(join(src, p), t, t);
    await lutimes(join(src, "bin"), t, t);

    const { stdout } = await execFileAsync("tar", ["--numeric-owner", "--xattrs", "-C", src, "-cf", "-", "."], {
      encoding: "buffer",
      maxBuffer: 64 << 20,
    });
    await driver.create("gnu");
    const size = await driver.applyDiff("gnu", undefined, parseTar(once(stdout)));
    expect(size).toBe("binary".length + "usr/bin".length + "long name".length + 1);
    expect(await snapshotTree(join(driver.home, "gnu", "diff"))).toEqual(await snapshotTree(src));
  });

  it("round-trips a layer: apply, diff to a tar, apply the tar elsewhere, same tree", async () => {
    const mtime = new Date("2023-03-04T05:06:07Z");
    await driver.create("base");
    await driver.applyDiff(
      "base",
      undefined,
      tarEntries([
        { name: "etc/passwd", content: "root" },
        { name: "etc/old", content: "o" },
        { name: "var/lib/x", content: "x" },
      ]),
    );
    await driver.create("src", "base");
    const srcSize = await driver.applyDiff(
      "src",
      "base",
      tarEntries([
        { name: "etc/", mode: 0o755, mtime },
        { name: "etc/passwd", content: "root\nme", mode: 0o644, mtime },
        { name: "etc/.wh.old", mtime },
        { name: "var/", mtime },
        { name: "var/lib/", mtime },
        { name: "var/lib/.wh..wh..opq", mtime },
        { name: "var/lib/y", content: "y".repeat(70_000), uid: 5, gid: 6, mode: 0o4711, mtime },
        { name: "var/lib/y2", type: "hardlink", linkname: "var/lib/y", uid: 5, gid: 6, mode: 0o4711, mtime },
        { name: "lnk", type: "symlink", linkname: "/etc/passwd", mtime },
        { name: "p".repeat(200), content: "long", mtime },
      ]),
    );
    // The size counted while extracting is what dockerd's walk of the diff dir finds.
    expect(srcSize).toBe(await directorySize(join(driver.home, "src", "diff")));
    const tar = await collect(driver.diff("src", "base"));
    expect(tar.length % 512).toBe(0);
    expect(tar.subarray(tar.length - 1024).every((b) => b === 0)).toBe(true);

    const names: string[] = [];
    for await (const entry of parseTar(once(tar))) names.push(`${entry.header.type} ${entry.header.name}`);
    expect(names).toEqual([
      "directory etc/",
      "file etc/.wh.old",
      "file etc/passwd",
      "symlink lnk",
      `file ${"p".repeat(200)}`,
      "directory var/",
      "directory var/lib/",
      "file var/lib/.wh..wh..opq",
      "file var/lib/y",
      "hardlink var/lib/y2",
    ]);

    await driver.create("copy", "base");
    expect(await driver.applyDiff("copy", "base", parseTar(once(tar)))).toBe(srcSize);
    expect(await snapshotTree(join(driver.home, "copy", "diff"))).toEqual(await snapshotTree(join(driver.home, "src", "diff")));
    // And the same bytes again from the copy (whiteout device times aside, which the tar carries
    // truncated to the second and dockerd does not restore).
    const again = await collect(driver.diff("copy", "base"));
    expect(again.length).toBe(tar.length);

    await driver.createReadWrite("view", "copy");
    const merged = await driver.get("view");
    expect(await readFile(join(merged, "etc/passwd"), "utf8")).toBe("root\nme");
    await expect(readFile(join(merged, "etc/old"))).rejects.toThrow();
    await expect(readFile(join(merged, "var/lib/x"))).rejects.toThrow();
    await driver.put("view");
  });

  it("walks the diff dir for its size when a whiteout lands on a file the same layer wrote", async () => {
    await driver.create("self");
    const result = await driver
      .applyDiff("self", undefined, tarEntries([{ name: "a", content: "gone soon" }, { name: ".wh.a" }, { name: "b", content: "kept" }]))
      .catch((e: unknown) => e);
    if (typeof result === "number") expect(result).toBe(await directorySize(join(driver.home, "self", "diff")));
    else expect((result as Error).message).toContain(".wh.a"); // refused is fine too, but never a wrong size
  });
});
