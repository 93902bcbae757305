import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type TarWriteEntry, splitTar, writeTar } from "../src/index";
import { assembleFrom, chunked, collect } from "./helpers";

const component = fc
  .oneof(fc.stringMatching(/^[a-zA-Z0-9._-]{1,12}$/), fc.string({ unit: "grapheme", minLength: 1, maxLength: 8 }), fc.stringMatching(/^[a-z]{90,140}$/))
  .filter((s) => s !== "." && s !== ".." && !s.includes("/") && !s.includes("\0"));

const rawComponent = fc.uint8Array({ minLength: 1, maxLength: 6 }).map((b) => Buffer.from(b.map((x) => (x === 0 || x === 0x2f ? 0x80 : x))));

const pathArb = fc
  .array(fc.oneof({ weight: 5, arbitrary: component.map((c) => Buffer.from(c, "utf8")) }, { weight: 1, arbitrary: rawComponent }), {
    minLength: 1,
    maxLength: 4,
  })
  .map((parts) => Buffer.concat(parts.flatMap((p, i) => (i === 0 ? [p] : [Buffer.from("/"), p]))));

const common = fc.record({
  mode: fc.integer({ min: 0, max: 0o7777 }),
  uid: fc.oneof(fc.integer({ min: 0, max: 70000 }), fc.integer({ min: 0, max: 2 ** 31 })),
  gid: fc.integer({ min: 0, max: 70000 }),
  uname: fc.oneof(fc.constant(""), fc.stringMatching(/^[a-z]{1,40}$/)),
  mtime: fc.oneof(
    fc.integer({ min: 0, max: 2 ** 33 }).map((s) => new Date(s * 1000)),
    fc.integer({ min: 0, max: 2 ** 40 }).map((ms) => new Date(ms)),
  ),
  xattrs: fc.dictionary(fc.stringMatching(/^user\.[a-z]{1,8}$/), fc.uint8Array({ maxLength: 20 }), { maxKeys: 2 }),
});

const kind = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .oneof({ weight: 5, arbitrary: fc.uint8Array({ maxLength: 1500 }) }, { weight: 1, arbitrary: fc.uint8Array({ minLength: 60_000, maxLength: 70_000 }) })
      .map((body) => ({ type: "file" as const, body })),
  },
  { weight: 1, arbitrary: fc.constant({ type: "directory" as const }) },
  {
    weight: 1,
    arbitrary: fc
      .string({ minLength: 1, maxLength: 200 })
      .filter((s) => !s.includes("\0"))
      .map((linkname) => ({ type: "symlink" as const, linkname })),
  },
  { weight: 1, arbitrary: fc.constant({ type: "fifo" as const }) },
  {
    weight: 1,
    arbitrary: fc
      .record({ devmajor: fc.integer({ min: 0, max: 4095 }), devminor: fc.integer({ min: 0, max: 2 ** 20 }) })
      .map((d) => ({ type: "char" as const, ...d })),
  },
);

const entriesArb = fc.uniqueArray(fc.record({ path: pathArb, common, kind }), { maxLength: 12, selector: (e) => e.path.toString("latin1") }).map((list) =>
  list.map(({ path, common: c, kind: k }): TarWriteEntry => {
    const raw = k.type === "directory" ? Buffer.concat([path, Buffer.from("/")]) : path;
    const { body, ...rest } = k as { body?: Uint8Array };
    return { header: { name: raw.toString("utf8"), nameRaw: raw, ...c, ...rest } as unknown as TarWriteEntry["header"], ...(body ? { body } : {}) };
  }),
);

describe("property: writeTar → splitTar → assembleTar", () => {
  it("rebuilds every archive byte for byte and parses back what was written", async () => {
    await fc.assert(
      fc.asyncProperty(entriesArb, fc.integer({ min: 7, max: 5000 }), fc.uint8Array({ maxLength: 3000 }), async (entries, chunkSize, trailing) => {
        const tar = Buffer.concat([await collect(writeTar(entries)), trailing]);
        const rec = splitTar(chunked(tar, chunkSize));
        const files = new Map<string, Uint8Array>();
        let i = 0;
        for await (const e of rec.entries) {
          const want = entries[i++]!;
          const content = await collect(e.body);
          const nameBytes = e.header.nameRaw ? Buffer.from(e.header.nameRaw) : Buffer.from(e.header.name, "utf8");
          expect(nameBytes).toEqual(Buffer.from(want.header.nameRaw!));
          expect(e.header).toMatchObject({
            type: want.header.type,
            mode: want.header.mode,
            uid: want.header.uid,
            gid: want.header.gid,
            uname: want.header.uname,
          });
          expect(e.header.mtime.getTime()).toBe(want.header.mtime!.getTime());
          if (want.header.type === "symlink") expect(e.header.linkname).toBe(want.header.linkname);
          if (want.header.type === "char") expect([e.header.devmajor, e.header.devminor]).toEqual([want.header.devmajor, want.header.devminor]);
          // Go's reader drops PAX records with empty values, xattrs included.
          const wantXattrs = Object.entries(want.header.xattrs!)
            .filter(([, v]) => v.length > 0)
            .map(([k]) => k);
          expect(Object.keys(e.header.xattrs).sort()).toEqual(wantXattrs.sort());
          expect(content).toEqual(Buffer.from((want.body as Uint8Array | undefined) ?? new Uint8Array(0)));
          files.set(nameBytes.toString("latin1"), content);
        }
        expect(i).toBe(entries.length);
        expect((await assembleFrom(rec.packets(), files)).equals(tar)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});
