import { mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isStoreError } from "@store/errors";
import { describe, expect, it } from "vitest";
import { TarErrorCode, encodeTarHeader, parseTar, writeTar, type TarWriteEntry } from "../src/index";
import { collect, expectRoundTrip, gnuTar, readAll, tempDir } from "./helpers";

const tarOf = (entries: TarWriteEntry[]) => collect(writeTar(entries));
const field = (b: Buffer, off: number, len: number) => b.subarray(off, off + len).toString("latin1");

describe("writeTar", () => {
  it("writes USTAR headers exactly as Go's tar.Writer does when every field fits", async () => {
    const tar = await tarOf([
      {
        header: { name: "foo", type: "file", mode: 0o644, uid: 1000, gid: 100, uname: "u", gname: "g", mtime: new Date(1_600_000_000_000) },
        body: Buffer.from("abc"),
      },
    ]);
    expect(tar.length).toBe(512 + 512 + 1024);
    expect(field(tar, 0, 4)).toBe("foo\0");
    expect(field(tar, 100, 8)).toBe("0000644\0");
    expect(field(tar, 108, 8)).toBe("0001750\0");
    expect(field(tar, 116, 8)).toBe("0000144\0");
    expect(field(tar, 124, 12)).toBe("00000000003\0");
    expect(field(tar, 136, 12)).toBe(`${(1_600_000_000).toString(8)}\0`);
    expect(field(tar, 148, 8)).toMatch(/^[0-7]{6}\0 $/);
    expect(field(tar, 156, 1)).toBe("0");
    expect(field(tar, 257, 8)).toBe("ustar\x0000");
    expect(field(tar, 265, 2)).toBe("u\0");
    expect(field(tar, 329, 16)).toBe("0000000\x000000000\0");
    expect(field(tar, 512, 4)).toBe("abc\0");
    expect(tar.subarray(1024).every((b) => b === 0)).toBe(true);
  });

  it("splits long names into prefix and name, and uses PAX only when it must (Go's rules)", async () => {
    const splittable = `${"p".repeat(120)}/${"n".repeat(90)}`;
    const usTar = await tarOf([{ header: { name: splittable, type: "file" }, body: Buffer.from("x") }]);
    expect(usTar[156]).toBe(0x30); // no 'x' header before it
    expect(field(usTar, 0, 91)).toBe(`${"n".repeat(90)}\0`);
    expect(field(usTar, 345, 121)).toBe(`${"p".repeat(120)}\0`);

    const long = `dir/${"z".repeat(150)}`;
    const paxTar = await tarOf([
      { header: { name: long, type: "file", mtime: new Date(1500), uid: 3_000_000, xattrs: { "user.a": Buffer.from([0, 1]) } }, body: Buffer.from("x") },
    ]);
    expect(String.fromCharCode(paxTar[156]!)).toBe("x");
    expect(field(paxTar, 0, 22)).toBe("dir/PaxHeaders.0/zzzzz");
    const records = paxTar.subarray(512, 512 + parseInt(field(paxTar, 124, 11), 8)).toString("latin1");
    const rec = (kv: string) => {
      const n = kv.length + 2 + String(kv.length + 2).length;
      return `${n + String(n).length - String(kv.length + 2).length} ${kv}\n`;
    };
    expect(records).toBe(rec("SCHILY.xattr.user.a=\0\x01") + rec("mtime=1.5") + rec(`path=${long}`) + rec("uid=3000000"));
    expect(records.startsWith("26 SCHILY.xattr.user.a=\0\x01\n13 mtime=1.5\n164 path=")).toBe(true);
    const main = paxTar.subarray(1024, 1536);
    expect(field(main, 0, 100)).toBe(long.slice(0, 100));
    expect(field(main, 108, 8)).toBe("0000000\0"); // uid too big for the field: 0, the record holds it
    const [entry] = await readAll(parseTar([paxTar]));
    expect(entry!.header).toMatchObject({ name: long, uid: 3_000_000 });
    expect(entry!.header.mtime.getTime()).toBe(1500);
    expect(Buffer.from(entry!.header.xattrs["user.a"]!)).toEqual(Buffer.from([0, 1]));
  });

  it("records non-ASCII names, long link targets and large sizes in PAX", () => {
    const h = encodeTarHeader({ name: "é/ü", type: "symlink", linkname: "l".repeat(101) }, 0);
    const text = h.subarray(512, 1024).toString("utf8");
    expect(text).toContain(` linkpath=${"l".repeat(101)}\n`);
    expect(text).toContain(" path=é/ü\n");
    expect(field(h, 0, 14)).toBe("/PaxHeaders.0\0"); // toASCII("é/PaxHeaders.0/ü"), trailing slash trimmed
    expect(field(h, 1024, 2)).toBe("/\0"); // toASCII("é/ü")
    const big = encodeTarHeader({ name: "big", type: "file" }, 8 * 1024 ** 3);
    expect(big.subarray(512, 1024).toString()).toContain("19 size=8589934592\n");
    expect(field(big, 1024 + 124, 12)).toBe("00000000000\0");
  });

  it("fails a body of the wrong length naming the entry", async () => {
    for (const body of [
      Buffer.from("ab"),
      (async function* () {
        yield Buffer.from("abcd");
      })(),
      (async function* () {
        yield Buffer.from("a");
      })(),
    ]) {
      const error = await tarOf([{ header: { name: "wrong", type: "file", size: 3 }, body }]).catch((e: unknown) => e);
      expect(isStoreError(error, TarErrorCode.BodySizeMismatch)).toBe(true);
      expect((error as Error).message).toContain('"wrong"');
    }
    const dir = await tarOf([{ header: { name: "d/", type: "directory" }, body: Buffer.from("x") }]).catch((e: unknown) => e);
    expect(isStoreError(dir, TarErrorCode.BodySizeMismatch)).toBe(true);
  });

  it("refuses headers Go would refuse", async () => {
    for (const header of [
      { name: "a\0b", type: "file" as const },
      { name: "file/", type: "file" as const },
      { name: "", type: "file" as const },
      { name: "x", type: "file" as const, mode: -1 },
      { name: "x", type: "file" as const, pax: { "a=b": "c" } },
    ]) {
      expect(isStoreError(await tarOf([{ header }]).catch((e: unknown) => e), TarErrorCode.InvalidEntry), JSON.stringify(header)).toBe(true);
    }
  });

  it("produces archives GNU tar extracts as intended", async () => {
    const tar = await tarOf([
      { header: { name: "dir/", type: "directory", mode: 0o750 } },
      { header: { name: "dir/file", type: "file", mode: 0o600, mtime: new Date(1_000_000_000_000) }, body: Buffer.from("content") },
      { header: { name: `dir/${"long".repeat(40)}`, type: "file" }, body: Buffer.alloc(70_000, 7) },
      { header: { name: "dir/link", type: "symlink", linkname: "t".repeat(200) } },
      { header: { name: "dir/hard", type: "hardlink", linkname: "dir/file" } },
      { header: { name: "dir/pipe", type: "fifo" } },
      { header: { name: "dir/ünï", type: "file" }, body: Buffer.from("u") },
    ]);
    const out = tempDir("tar-split-extract-");
    try {
      writeFileSync(join(out.path, "a.tar"), tar);
      mkdirSync(join(out.path, "x"));
      gnuTar(["-xf", join(out.path, "a.tar"), "-C", join(out.path, "x")]);
      const x = (p: string) => join(out.path, "x", p);
      expect(readFileSync(x("dir/file"), "utf8")).toBe("content");
      expect(statSync(x("dir/file")).mode & 0o7777).toBe(0o600);
      expect(statSync(x("dir/file")).mtimeMs).toBe(1_000_000_000_000);
      expect(readFileSync(x(`dir/${"long".repeat(40)}`)).length).toBe(70_000);
      expect(readlinkSync(x("dir/link"))).toBe("t".repeat(200));
      expect(statSync(x("dir/hard")).ino).toBe(statSync(x("dir/file")).ino);
      expect(statSync(x("dir/pipe")).isFIFO()).toBe(true);
      expect(readFileSync(x("dir/ünï"), "utf8")).toBe("u");
    } finally {
      out.remove();
    }
    await expectRoundTrip(tar, 1000);
  });
});
