import { execFileSync } from "node:child_process";
import { closeSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { isStoreError } from "@store/errors";
import { describe, expect, it } from "vitest";
import { TarErrorCode, encodeTarSplitLines, parseTar, splitTar, writeTar, type TarWriteEntry } from "../src/index";
import { chunked, collect, errorCode, expectRoundTrip, gnuTar, readAll, tempDir } from "./helpers";

async function tarOf(entries: TarWriteEntry[]): Promise<Buffer> {
  return collect(writeTar(entries));
}

/** Recomputes a header block's checksum the way tar writers do (unsigned, "%06o\0 "). */
function fixChecksum(tar: Buffer, at: number): void {
  tar.fill(0x20, at + 148, at + 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += tar[at + i]!;
  tar.write(`${sum.toString(8).padStart(6, "0")}\0 `, at + 148, "latin1");
}

const parse = (tar: Uint8Array, chunk = 64) => readAll(parseTar(chunked(tar, chunk)));
const splitAll = async (tar: Uint8Array, options = {}) => {
  const rec = splitTar(chunked(tar, 100), options);
  for await (const e of rec.entries) await collect(e.body);
  return rec.packets();
};

const oneFile = () => tarOf([{ header: { name: "f", type: "file" }, body: Buffer.from("0123456789") }]);

describe("refusing malformed archives", () => {
  it("a bad checksum is ERR_TAR_INVALID_HEADER naming the offset", async () => {
    const tar = await tarOf([
      { header: { name: "a", type: "file" }, body: Buffer.from("x") },
      { header: { name: "b", type: "file" }, body: Buffer.from("y") },
    ]);
    tar[1024 + 1] = 0x41;
    const error = await parse(tar).catch((e: unknown) => e);
    expect(isStoreError(error, TarErrorCode.InvalidHeader)).toBe(true);
    expect((error as Error).message).toMatch(/offset 1024.*checksum/);
  });

  it("accepts a checksum computed over signed bytes (old tars), as Go does", async () => {
    const tar = await tarOf([{ header: { name: "f", type: "file", uname: "x" }, body: Buffer.from("1") }]);
    tar[265 + 20] = 0xff; // a high byte inside uname, after its NUL
    tar.fill(0x20, 148, 156);
    let signed = 0;
    for (let i = 0; i < 512; i++) signed += tar[i]! >= 128 ? tar[i]! - 256 : tar[i]!;
    tar.write(`${signed.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
    expect((await parse(tar))[0]!.header.name).toBe("f");
  });

  it("a bad octal digit is ERR_TAR_INVALID_HEADER", async () => {
    const tar = await oneFile();
    tar.write("0000000009\0", 124 + 1, "latin1");
    fixChecksum(tar, 0);
    expect(await errorCode(() => parse(tar))).toBe(TarErrorCode.InvalidHeader);
  });

  it("reads base-256 numbers and refuses a negative size", async () => {
    const tar = await oneFile();
    tar.fill(0, 124, 136);
    tar[124] = 0x80;
    tar[135] = 10;
    fixChecksum(tar, 0);
    const [entry] = await parse(tar);
    expect(entry!.content.toString()).toBe("0123456789");
    tar.fill(0xff, 124, 136); // base-256 -1
    fixChecksum(tar, 0);
    expect(await errorCode(() => parse(tar))).toBe(TarErrorCode.InvalidHeader);
  });

  it("bad PAX records are ERR_TAR_INVALID_HEADER", async () => {
    const good = await tarOf([{ header: { name: "f", type: "file", pax: { comment: "hi" } }, body: Buffer.from("1") }]);
    expect(good.subarray(512, 526).toString("latin1")).toBe("14 comment=hi\n");
    for (const [record, why] of [
      ["14 comment+hi\n", "no '='"],
      ["15 comment=hi\n", "length past the end"],
      ["14 comment=hiX", "no newline"],
      ["xx comment=hi\n", "non-decimal length"],
      ["3 comment=hi\n", "length under 5"],
      ["11 uid=abc\n", "non-decimal uid"],
      ["15 mtime=1.2.3\n", "bad time"],
      ["13 path=a\0bc\n", "NUL in path"],
    ] as const) {
      const tar = Buffer.from(good);
      tar.write(record.padEnd(15, "\0"), 512, "latin1");
      // keep the header's size equal to the record's length
      tar.write(`${record.length.toString(8).padStart(11, "0")}\0`, 124, "latin1");
      fixChecksum(tar, 0);
      expect(await errorCode(() => parse(tar, 7)), why).toBe(TarErrorCode.InvalidHeader);
    }
  });

  it("PAX headers over 1 MiB are refused (Go 1.19's limit, which dockerd's unpacker applies)", async () => {
    const tar = await tarOf([{ header: { name: "f", type: "file", pax: { comment: "c".repeat((1 << 20) - 100) } } }]);
    expect(await parse(tar, 1 << 20)).toHaveLength(1);
    const big = await tarOf([{ header: { name: "f", type: "file", pax: { comment: "c".repeat(1 << 20) } } }]).catch((e: unknown) => e);
    expect(isStoreError(big, TarErrorCode.InvalidEntry)).toBe(true);
  });

  it("truncation inside a header, content, PAX body or end block is ERR_TAR_TRUNCATED; inside padding it is a clean end (as Go)", async () => {
    const tar = await oneFile(); // header 0-512, content 512-522, padding to 1024, end blocks 1024-2048
    expect(await errorCode(() => parse(tar.subarray(0, 300)))).toBe(TarErrorCode.Truncated);
    expect(await errorCode(() => parse(tar.subarray(0, 517)))).toBe(TarErrorCode.Truncated);
    expect(await errorCode(() => parse(tar.subarray(0, 1024 + 100)))).toBe(TarErrorCode.Truncated);
    expect(await errorCode(() => parse(tar.subarray(0, 1536 + 100)))).toBe(TarErrorCode.Truncated);
    for (const end of [522, 600, 1024, 1536]) {
      const entries = await parse(tar.subarray(0, end));
      expect(entries.map((e) => e.content.toString())).toEqual(["0123456789"]);
      await expectRoundTrip(tar.subarray(0, end), 33);
    }
    const pax = await tarOf([{ header: { name: "é", type: "file" }, body: Buffer.from("1") }]);
    expect(await errorCode(() => parse(pax.subarray(0, 520)))).toBe(TarErrorCode.Truncated);
    const skipped = await errorCode(async () => {
      for await (const _ of parseTar([tar.subarray(0, 517)])) void _; // content skipped, not read
    });
    expect(skipped).toBe(TarErrorCode.Truncated);
  });

  it("a zero block followed by a non-zero block is ERR_TAR_INVALID_HEADER", async () => {
    const tar = await oneFile();
    tar[1536 + 7] = 1;
    expect(await errorCode(() => parse(tar))).toBe(TarErrorCode.InvalidHeader);
  });

  it("unknown typeflags are ERR_TAR_UNSUPPORTED (dockerd refuses to apply them)", async () => {
    for (const flag of ["V", "D", "M", "A"]) {
      const tar = await oneFile();
      tar.write(flag, 156, "latin1");
      fixChecksum(tar, 0);
      const error = await parse(tar).catch((e: unknown) => e);
      expect(isStoreError(error, TarErrorCode.Unsupported)).toBe(true);
      expect((error as Error).message).toContain(`'${flag}'`);
      expect((error as Error).message).toContain('"f"');
    }
  });

  it("sparse files are ERR_TAR_UNSUPPORTED (old GNU 'S' and PAX GNU.sparse)", async () => {
    const dir = tempDir("tar-split-sparse-");
    try {
      const fd = openSync(join(dir.path, "sparse"), "w");
      writeSync(fd, Buffer.from("data"), 0, 4, 1 << 20);
      writeSync(fd, Buffer.from("more"), 0, 4, 3 << 20);
      closeSync(fd);
      for (const format of ["gnu", "pax"]) {
        const tar = gnuTar(["-S", `--format=${format}`, "-C", dir.path, "-cf", "-", "sparse"]);
        expect(await errorCode(() => parse(tar, 4096)), format).toBe(TarErrorCode.Unsupported);
      }
    } finally {
      dir.remove();
    }
  });

  it("reading a body after moving on is ERR_TAR_BODY_EXPIRED", async () => {
    const tar = await tarOf([
      { header: { name: "a", type: "file" }, body: Buffer.from("x") },
      { header: { name: "b", type: "file" }, body: Buffer.from("y") },
    ]);
    const it = parseTar([tar])[Symbol.asyncIterator]();
    const first = (await it.next()).value!;
    const second = (await it.next()).value!;
    expect(await errorCode(() => collect(first.body))).toBe(TarErrorCode.BodyExpired);
    expect((await collect(second.body)).toString()).toBe("y");
    await it.return?.(undefined);
  });

  it("skips unread content (with padding) when the next entry is asked for", async () => {
    const tar = await tarOf([
      { header: { name: "a", type: "file" }, body: Buffer.alloc(5000, 1) },
      { header: { name: "b", type: "file" }, body: Buffer.from("y") },
    ]);
    const names: string[] = [];
    for await (const e of parseTar(chunked(tar, 777))) {
      names.push(e.header.name);
      if (e.header.name === "a") {
        for await (const c of e.body) {
          expect(c.length).toBeGreaterThan(0);
          break; // read a little, abandon the rest
        }
      }
    }
    expect(names).toEqual(["a", "b"]);
  });

  it("an empty input is an empty archive", async () => {
    expect(await parse(Buffer.alloc(0))).toEqual([]);
    expect(encodeTarSplitLines(await splitAll(Buffer.alloc(0)))).toBe('{"type":2,"payload":"","position":0}\n');
  });
});

describe("what the tar-split recorder refuses (as Go's packer does)", () => {
  it("the same cleaned path twice is ERR_TAR_SPLIT_DUPLICATE_PATH unless allowed", async () => {
    const tar = await tarOf([{ header: { name: "dir/", type: "directory" } }, { header: { name: "./dir", type: "directory" } }]);
    expect(await parse(tar)).toHaveLength(2);
    expect(await errorCode(() => splitAll(tar))).toBe(TarErrorCode.DuplicatePath);
    expect(await splitAll(tar, { allowDuplicatePaths: true })).toHaveLength(6);
  });

  it("a link with a non-zero size is read as Go does but cannot be recorded", async () => {
    const tar = await tarOf([{ header: { name: "l", type: "symlink", linkname: "t" } }]);
    tar.write("00000000005\0", 124, "latin1");
    fixChecksum(tar, 0);
    const [entry] = await parse(tar);
    expect(entry!.header.size).toBe(0);
    expect(await errorCode(() => splitAll(tar))).toBe(TarErrorCode.Unsupported);
  });
});

describe("PAX global headers", () => {
  it("are recorded as Go records them, reported, and not yielded", async () => {
    const dir = tempDir("tar-split-global-");
    try {
      execFileSync("sh", ["-c", "echo hi > f"], { cwd: dir.path });
      const tar = gnuTar(["--format=pax", "--pax-option=comment=hello", "-C", dir.path, "-cf", "-", "f"]);
      const globals: Record<string, string>[] = [];
      const rec = splitTar([tar], { onGlobalHeader: (r) => globals.push(r) });
      const names: string[] = [];
      for await (const e of rec.entries) names.push(e.header.name);
      expect(names).toEqual(["f"]);
      expect(globals).toEqual([{ comment: "hello" }]);
      const lines = encodeTarSplitLines(rec.packets()).split("\n");
      expect(lines[1]).toMatch(/^\{"type":1,"name":"[^"]*GlobalHead[^"]*","payload":null,"position":1\}$/);
      await expectRoundTrip(tar, 100);
    } finally {
      dir.remove();
    }
  });
});

describe("bytes after the end of the archive", () => {
  it("are kept up to maxTrailingBytes, and beyond it the tar is refused with one line", async () => {
    const tar = await oneFile();
    const padded = Buffer.concat([tar, Buffer.alloc(4096)]);
    const kept = await splitAll(padded, { maxTrailingBytes: 4096 });
    expect(Buffer.concat(kept.filter((p) => p.type === 2).map((p) => Buffer.from(p.payload ?? []))).length).toBeGreaterThanOrEqual(4096);
    const error = await splitAll(Buffer.concat([tar, Buffer.alloc(4097)]), { maxTrailingBytes: 4096 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isStoreError(error, TarErrorCode.Unsupported), String(error)).toBe(true);
    expect((error as Error).message).toMatch(/^more than 4096 bytes after the end of the archive/);
  });
});
