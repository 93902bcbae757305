import { gzipSync } from "node:zlib";
import { isStoreError } from "@store/errors";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_TAR_SPLIT_LINE } from "../src/tar-split-io";
import { type TarWriteEntry, encodeTarSplitLines, parseTar, readTarSplit, splitTar, writeTar } from "../src/index";
import { chunked, collect } from "./helpers";

// Fuzzing (fast-check) of the two readers that take bytes from outside: whatever the input, a
// value or a typed StoreError, never another throw, and no allocation the input's size does not
// pay for. numRuns keeps each property to a second or two.

/** Runs `work`; a StoreError is a fine outcome, anything else thrown fails the property. */
async function typedOrValue(work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (e) {
    if (!isStoreError(e)) throw new Error(`not a StoreError: ${(e as Error)?.stack ?? String(e)}`);
  }
}

/** Recomputes a header block's checksum, so mutated headers get past it to the fields behind. */
function fixChecksum(tar: Buffer, at: number): void {
  tar.fill(0x20, at + 148, at + 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += tar[at + i]!;
  tar.write(`${sum.toString(8).padStart(6, "0")}\0 `, at + 148, "latin1");
}

const drainTar = async (bytes: Uint8Array, chunk: number) => {
  for await (const e of parseTar(chunked(bytes, chunk))) await collect(e.body);
};
const drainSplit = async (bytes: Uint8Array, chunk: number) => {
  const rec = splitTar(chunked(bytes, chunk));
  for await (const e of rec.entries) await collect(e.body);
  rec.packets();
};

const entryArb: fc.Arbitrary<TarWriteEntry> = fc.oneof(
  fc.record({
    header: fc.record({ name: fc.stringMatching(/^[a-z]{1,120}$/), type: fc.constant("file" as const) }),
    body: fc.uint8Array({ maxLength: 1200 }).map((b) => Buffer.from(b)),
  }),
  fc.record({ header: fc.record({ name: fc.stringMatching(/^[a-z]{1,12}\/$/), type: fc.constant("directory" as const) }) }),
  fc.record({
    header: fc.record({ name: fc.stringMatching(/^[a-z]{1,12}$/), type: fc.constant("symlink" as const), linkname: fc.stringMatching(/^[a-z/]{1,200}$/) }),
  }),
);

/** A valid tar of a few entries, then changed: bytes overwritten, some in header fields with checksums fixed. */
const mutatedTar = fc.record({
  entries: fc.array(entryArb, { minLength: 1, maxLength: 4 }),
  edits: fc.array(
    fc.record({
      at: fc.nat(),
      // Header fields (size, mode, typeflag, magic, prefix) or anywhere.
      field: fc.constantFrom(124, 100, 156, 257, 345, -1),
      bytes: fc.oneof(
        fc.uint8Array({ minLength: 1, maxLength: 12 }),
        fc
          .constantFrom("77777777777\0", "\x80\0\0\0\x7f\xff\xff\xff\xff\xff\xff\xff", "x", "L", "K", "g", "S", "-1", "99999999999 ")
          .map((s) => Buffer.from(s, "latin1")),
      ),
      fix: fc.boolean(),
    }),
    { minLength: 1, maxLength: 4 },
  ),
  chunk: fc.integer({ min: 1, max: 1024 }),
});

describe("fuzzing the tar reader", () => {
  it("random bytes: entries or a typed error", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), fc.integer({ min: 1, max: 700 }), async (bytes, chunk) => {
        await typedOrValue(() => drainTar(bytes, chunk));
        await typedOrValue(() => drainSplit(bytes, chunk));
      }),
      { numRuns: 300 },
    );
  });

  it("valid tars with headers changed (checksums fixed): entries or a typed error", async () => {
    await fc.assert(
      fc.asyncProperty(mutatedTar, async ({ entries, edits, chunk }) => {
        const tar = Buffer.from(await collect(writeTar(entries)));
        const headers: number[] = [];
        for (let at = 0; at + 512 <= tar.length; at += 512) if (tar.readUInt32BE(at + 257) === 0x75737461 /* "usta" */) headers.push(at);
        for (const edit of edits) {
          const block = headers.length > 0 ? headers[edit.at % headers.length]! : 0;
          const at = edit.field < 0 ? edit.at % tar.length : block + edit.field;
          Buffer.from(edit.bytes).copy(tar, at);
          if (edit.fix && block + 512 <= tar.length) fixChecksum(tar, block);
        }
        await typedOrValue(() => drainTar(tar, chunk));
        await typedOrValue(() => drainSplit(tar, chunk));
      }),
      { numRuns: 300 },
    );
  });

  it("sizes claiming huge lengths are refused without allocating them", async () => {
    const before = process.memoryUsage().arrayBuffers;
    for (const [type, size] of [
      ["x", "77777777777\0"], // a PAX header of 8 GiB
      ["L", "77777777777\0"], // a GNU long name of 8 GiB
      ["K", "\x80\0\0\0\0\0\x01\0\0\0\0\0"], // a GNU long link of 2^40 (base-256)
      ["0", "\x80\0\0\0\0\x10\0\0\0\0\0\0"], // a file of 2^52 bytes in a 1 kB archive
    ] as const) {
      const tar = Buffer.from(await collect(writeTar([{ header: { name: "f", type: "file" }, body: Buffer.from("hello") }])));
      tar.write(type, 156, "latin1");
      tar.write(size, 124, "latin1");
      fixChecksum(tar, 0);
      const error = await drainTar(tar, 512).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isStoreError(error), `${type}: ${String(error)}`).toBe(true);
    }
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 << 20);
  });
});

const packetArb = fc.oneof(
  fc.record(
    {
      type: fc.constant(2),
      payload: fc.oneof(fc.base64String({ maxLength: 200 }), fc.string(), fc.integer(), fc.constant(null)),
      position: fc.oneof(fc.nat(), fc.double(), fc.string()),
    },
    { requiredKeys: ["type"] },
  ),
  fc.record(
    {
      type: fc.constant(1),
      name: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
      name_raw: fc.oneof(fc.base64String({ maxLength: 40 }), fc.string({ maxLength: 10 })),
      size: fc.oneof(fc.nat(), fc.integer(), fc.constant(2 ** 62), fc.double(), fc.string()),
      payload: fc.oneof(fc.base64String({ maxLength: 40 }), fc.constant("!!!"), fc.constant(null)),
      position: fc.nat(),
    },
    { requiredKeys: ["type"] },
  ),
  fc.jsonValue(),
);

describe("fuzzing the tar-split reader", () => {
  const drain = async (gz: Uint8Array) => {
    for await (const p of readTarSplit(gz)) void p;
  };

  it("random bytes, gzipped or not: packets or a typed error", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), fc.boolean(), async (bytes, gz) => {
        await typedOrValue(() => drain(gz ? gzipSync(bytes) : bytes));
      }),
      { numRuns: 300 },
    );
  });

  it("JSON lines of packets with fields of any type: packets or a typed error", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(packetArb, { maxLength: 8 }), async (packets) => {
        await typedOrValue(() => drain(gzipSync(packets.map((p) => JSON.stringify(p)).join("\n"))));
      }),
      { numRuns: 300 },
    );
  });

  it("a valid tar-split with lines cut and spliced: packets or a typed error", async () => {
    const tar = Buffer.from(await collect(writeTar([{ header: { name: "a", type: "file" }, body: Buffer.from("x".repeat(600)) }])));
    const rec = splitTar([tar]);
    for await (const e of rec.entries) await collect(e.body);
    const text = Buffer.from(encodeTarSplitLines(rec.packets())).toString("utf8");
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: text.length }), fc.nat({ max: text.length }), fc.string({ maxLength: 8 }), async (from, to, insert) => {
        const cut = text.slice(0, Math.min(from, to)) + insert + text.slice(Math.max(from, to));
        await typedOrValue(() => drain(gzipSync(cut)));
      }),
      { numRuns: 200 },
    );
  });

  it("one newline-free line of gigabytes (a gzip bomb) is refused at 16 MiB, not buffered", async () => {
    // 64 MiB of "a" gzips to 64 kB; the reader must stop at MAX_TAR_SPLIT_LINE.
    const bomb = gzipSync(Buffer.alloc(64 << 20, 0x61), { level: 1 });
    const before = process.memoryUsage().arrayBuffers;
    await expect(drain(bomb)).rejects.toThrow(`tar-split line 0: longer than ${MAX_TAR_SPLIT_LINE} bytes`);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(48 << 20);
  });
});
