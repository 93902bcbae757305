import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Digest, DigestErrorCode, DigestSet, digestFromBytes, parseDigest } from "../src/index";

const d = (hex: string, alg = "sha256") => parseDigest(`${alg}:${hex.padEnd(alg === "sha512" ? 128 : 64, "0")}`);

describe("DigestSet", () => {
  it("adds, removes, lists sorted, and ignores duplicates", () => {
    const set = new DigestSet();
    set.add(d("b"));
    set.add(d("a"));
    set.add(d("a"));
    expect(set.size).toBe(2);
    expect(set.list().map((x) => x.encoded[0])).toEqual(["a", "b"]);
    expect(set.remove(d("a"))).toBe(true);
    expect(set.remove(d("a"))).toBe(false);
    expect(set.list().map((x) => x.encoded[0])).toEqual(["b"]);
  });

  it("finds by any prefix, with or without the algorithm", () => {
    const set = new DigestSet([d("abc1"), d("abc2"), d("ff")]);
    expect(set.lookup("abc1").toString()).toBe(d("abc1").toString());
    expect(set.lookup("sha256:abc2").toString()).toBe(d("abc2").toString());
    expect(set.lookup("f").toString()).toBe(d("ff").toString());
    expect(set.lookup(d("ff").toString()).toString()).toBe(d("ff").toString());
    expect(() => set.lookup("abc")).toThrow(expect.objectContaining({ code: DigestErrorCode.Ambiguous }));
    expect(() => set.lookup("0")).toThrow(expect.objectContaining({ code: DigestErrorCode.NotFound }));
    expect(() => set.lookup("")).toThrow(expect.objectContaining({ code: DigestErrorCode.NotFound }));
    expect(() => set.lookup("sha512:abc1")).toThrow(expect.objectContaining({ code: DigestErrorCode.NotFound }));
    expect(() => set.lookup("xyz")).toThrow(expect.objectContaining({ code: DigestErrorCode.InvalidFormat }));
    expect(() => set.lookup("md5:ab")).toThrow(expect.objectContaining({ code: DigestErrorCode.InvalidFormat }));
    expect(() => new DigestSet().lookup("ab")).toThrow(expect.objectContaining({ code: DigestErrorCode.NotFound }));
  });

  it("an exact full digest wins over a longer one it prefixes", () => {
    const short = d("ab");
    const long = parseDigest(`sha512:${short.encoded}${"1".repeat(64)}`);
    const set = new DigestSet([short, long]);
    expect(set.lookup(short.encoded).toString()).toBe(short.toString());
    expect(() => set.lookup("ab")).toThrow(expect.objectContaining({ code: DigestErrorCode.Ambiguous }));
  });

  it("gives the shortest unique prefix, at least the minimum", () => {
    const set = new DigestSet([d("abc1"), d("abd"), d("f")]);
    expect(set.shortestUniquePrefix(d("abc1"))).toBe("abc");
    expect(set.shortestUniquePrefix(d("f"))).toBe("f");
    expect(set.shortestUniquePrefix(d("f"), 12)).toBe(d("f").encoded.slice(0, 12));
    expect(() => set.shortestUniquePrefix(d("9"))).toThrow(expect.objectContaining({ code: DigestErrorCode.NotFound }));
  });

  it("agrees with a naive model under random adds, removes and lookups", () => {
    const hex = fc.string({ unit: fc.constantFrom(..."0123abcf"), minLength: 1, maxLength: 4 });
    const op = fc.oneof(
      hex.map((h) => ({ kind: "add" as const, h })),
      hex.map((h) => ({ kind: "remove" as const, h })),
      hex.map((h) => ({ kind: "lookup" as const, h })),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const set = new DigestSet();
        const model = new Map<string, Digest>();
        for (const o of ops) {
          const digest = d(o.h);
          if (o.kind === "add") {
            set.add(digest);
            model.set(digest.toString(), digest);
          } else if (o.kind === "remove") {
            expect(set.remove(digest)).toBe(model.delete(digest.toString()));
          } else {
            const matches = [...model.values()].filter((x) => x.encoded.startsWith(o.h));
            const exact = matches.find((x) => x.encoded === o.h);
            let got: string;
            try {
              got = set.lookup(o.h).toString();
            } catch (e) {
              got = (e as { code: string }).code;
            }
            const want = exact
              ? exact.toString()
              : matches.length === 1
                ? matches[0]!.toString()
                : matches.length === 0
                  ? DigestErrorCode.NotFound
                  : DigestErrorCode.Ambiguous;
            expect(got).toBe(want);
          }
          expect(set.size).toBe(model.size);
        }
        expect(set.list().map(String)).toEqual([...model.values()].map(String).sort());
      }),
      { numRuns: 300 },
    );
  });

  it("holds a million digests and finds each by a short prefix", () => {
    const set = new DigestSet();
    const all: Digest[] = [];
    const buf = Buffer.alloc(4);
    for (let i = 0; i < 1_000_000; i++) {
      buf.writeUInt32BE(i);
      const digest = digestFromBytes(buf);
      all.push(digest);
      set.add(digest);
    }
    expect(set.size).toBe(1_000_000);
    for (let i = 0; i < 1_000_000; i += 997) {
      const digest = all[i]!;
      const prefix = set.shortestUniquePrefix(digest);
      expect(set.lookup(prefix).equals(digest)).toBe(true);
      expect(prefix.length).toBeLessThan(16);
    }
  });
});
