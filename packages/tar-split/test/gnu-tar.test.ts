import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeTarSplit, parseTar, readTarSplit, splitTar } from "../src/index";
import { chunked, collect, expectRoundTrip, gnuTar, readAll, split, tempDir } from "./helpers";
import { makeTrickyTree } from "./tricky-tree";

const formats = ["gnu", "pax", "posix", "oldgnu", "ustar"] as const;

describe.each(formats)("archives made by GNU tar --format=%s", (format) => {
  const dir = tempDir(`tar-split-${format}-`);
  let tar: Buffer;

  beforeAll(() => {
    const ustar = format === "ustar";
    makeTrickyTree(dir.path, { ustar });
    const xattrs = format === "pax" || format === "posix" ? ["--xattrs"] : [];
    tar = gnuTar([...xattrs, `--format=${format}`, "-C", dir.path, "-cf", "-", "."]);
  });
  afterAll(() => dir.remove());

  it("parses every entry with GNU tar's view of names, types and contents", async () => {
    const entries = await readAll(parseTar(chunked(tar, 65536)));
    const names = entries.map((e) => (e.header.nameRaw ? Buffer.from(e.header.nameRaw).toString("latin1") : Buffer.from(e.header.name).toString("latin1")));
    const expected = gnuTarList(tar);
    expect(names).toEqual(expected);

    const byName = new Map(entries.map((e) => [e.header.name, e]));
    expect(byName.get("./small")!.content.toString()).toBe("hello\n");
    expect(byName.get("./small")!.header.type).toBe("file");
    expect(byName.get("./big")!.header.size).toBe((1 << 20) + 3);
    expect(byName.get("./link-short")!.header).toMatchObject({ type: "symlink", linkname: "small", size: 0 });
    expect(byName.get("./fifo")!.header.type).toBe("fifo");
    expect(byName.get("./d1/")!.header.type).toBe("directory");
    const hard = byName.get("./hardlink") ?? byName.get("./small");
    expect(["hardlink", "file"]).toContain(hard!.header.type);
    expect(entries.some((e) => e.header.type === "hardlink")).toBe(true);
    const deep = entries.find((e) => e.header.name.endsWith("/file-with-a-name-past-one-hundred-bytes.txt"))!;
    expect(deep.header.name).toBe(`./d1/${"a".repeat(60)}/${"b".repeat(60)}/file-with-a-name-past-one-hundred-bytes.txt`);
    expect(deep.content.toString()).toBe("deep\n");
    const raw = entries.find((e) => e.header.nameRaw)!;
    expect(Buffer.from(raw.header.nameRaw!)).toEqual(Buffer.from([...Buffer.from("./name-"), 0xff, 0xfe, 0x80]));
    expect(byName.get("./unicode-é-😀-\u2028")!.content.toString()).toBe("u\n");
    if (format !== "ustar") {
      expect(byName.get("./link-long")!.header.linkname).toBe("t".repeat(150));
      expect(entries.some((e) => e.header.name === `./${"c".repeat(200)}/${"d".repeat(200)}`)).toBe(true);
    }
    const dev = byName.get("./null-device");
    if (dev) expect(dev.header).toMatchObject({ type: "char", devmajor: 1, devminor: 3 });
    if (format === "pax" || format === "posix") {
      const x = byName.get("./with-xattr")!;
      expect(Buffer.from(x.header.xattrs["user.test"]!).toString()).toBe("hello");
      expect(Buffer.from(x.header.xattrs["user.bin"]!)).toEqual(Buffer.from([0x00, 0xff, 0x10]));
      expect(x.header.pax["SCHILY.xattr.user.test"]).toBe("hello");
      expect(x.header.atime).toBeInstanceOf(Date);
    }
  });

  it("rebuilds the archive byte for byte from its tar-split", async () => {
    await expectRoundTrip(tar);
  });

  it("gives the same packets whatever the chunking, 1-byte chunks included", async () => {
    const whole = await split(tar, tar.length);
    for (const size of [1, 511, 513, 4096]) {
      const small = tar.length > 200_000 && size === 1 ? undefined : await split(tar, size);
      if (small) expect(small.packets).toEqual(whole.packets);
    }
  });

  it("reads bytes after the end blocks into the tar-split and rebuilds them too", async () => {
    const garbage = Buffer.concat([Buffer.alloc(3000), randomBytes(2_500_000)]);
    const withTail = Buffer.concat([tar, garbage]);
    const packets = await expectRoundTrip(withTail, 100_000);
    const segments = packets.filter((p) => p.type === 2);
    expect(segments.at(-1)!.payload.length).toBe(0);
    expect(Math.max(...segments.map((p) => p.payload.length))).toBeLessThanOrEqual(1 << 20);
  });
});

// 1-byte chunks over the big archive would take long: check them on a small one.
describe("1-byte chunks", () => {
  it("parse and record exactly as with one chunk", async () => {
    const dir = tempDir("tar-split-bytes-");
    try {
      writeFileSync(join(dir.path, "f".repeat(120)), "content\n");
      writeFileSync(join(dir.path, "g"), randomBytes(1500));
      for (const format of ["gnu", "pax"]) {
        const tar = gnuTar([`--format=${format}`, "-C", dir.path, "-cf", "-", "."]);
        const one = await split(tar, 1);
        const whole = await split(tar, tar.length);
        expect(one.packets).toEqual(whole.packets);
        expect(one.entries.map((e) => e.header.name)).toEqual(whole.entries.map((e) => e.header.name));
        await expectRoundTrip(tar, 1);
      }
    } finally {
      dir.remove();
    }
  });
});

describe("tar-split.json.gz", () => {
  it("survives write → read", async () => {
    const dir = tempDir("tar-split-io-");
    try {
      makeTrickyTree(dir.path);
      const tar = gnuTar(["--format=gnu", "-C", dir.path, "-cf", "-", "."]);
      const rec = splitTar(chunked(tar, 65536));
      for await (const e of rec.entries) await collect(e.body);
      const gz = await rec.tarSplit();
      const back = [];
      for await (const p of readTarSplit(chunked(gz, 100))) back.push(p);
      expect(back).toEqual(rec.packets().map((p) => ({ ...p, payload: p.payload === null ? null : new Uint8Array(p.payload) })));
      expect(Buffer.from(await encodeTarSplit(back))).toEqual(Buffer.from(await encodeTarSplit(rec.packets())));
    } finally {
      dir.remove();
    }
  });
});

/** Names as GNU tar lists them (raw bytes as latin1). */
function gnuTarList(tar: Buffer): string[] {
  const dir = tempDir("tar-list-");
  try {
    writeFileSync(join(dir.path, "a.tar"), tar);
    const out = gnuTar(["--quoting-style=literal", "--null", "-tf", join(dir.path, "a.tar")]).toString("latin1");
    return out.split("\n").filter((l) => l !== "");
  } finally {
    dir.remove();
  }
}
