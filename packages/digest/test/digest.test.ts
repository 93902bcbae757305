import fc from "fast-check";
import { Readable } from "node:stream";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import {
  Digest,
  DigestErrorCode,
  algorithms,
  digestFromBytes,
  digestStream,
  encodedLength,
  isDigest,
  parseDigest,
  verifyStream,
  hashingStream,
} from "../src/index";
import { isStoreError } from "@store/errors";

const EMPTY_SHA256 = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

function expectCode(fn: () => unknown, code: string, mentions?: string) {
  try {
    fn();
  } catch (e) {
    expect(isStoreError(e, code), `expected ${code}, got ${String(e)}`).toBe(true);
    if (mentions !== undefined) expect((e as Error).message).toContain(mentions);
    return;
  }
  throw new Error(`expected ${code}, nothing thrown`);
}

describe("known vectors", () => {
  it.each(["node", "noble"] as const)("sha256, sha512 and blake3 vectors agree (%s)", (implementation) => {
    expect(digestFromBytes("", "sha256", { implementation }).toString()).toBe(EMPTY_SHA256);
    expect(digestFromBytes("foobar", "sha256", { implementation }).toString()).toBe("sha256:c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2");
    expect(digestFromBytes("abc", "sha512", { implementation }).toString()).toBe(
      "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
    );
    expect(digestFromBytes("abc", "sha384", { implementation }).toString()).toBe(
      "sha384:cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
    );
  });

  it("blake3 of the empty input", () => {
    expect(digestFromBytes("", "blake3").toString()).toBe("blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
  });

  it("node:crypto and @noble/hashes agree on random inputs for every algorithm", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), fc.constantFrom("sha256", "sha384", "sha512") as fc.Arbitrary<"sha256">, (data, alg) => {
        expect(digestFromBytes(data, alg, { implementation: "node" }).toString()).toBe(digestFromBytes(data, alg, { implementation: "noble" }).toString());
      }),
      { numRuns: 200 },
    );
  });

  it("the empty tar's diffID", () => {
    expect(digestFromBytes(new Uint8Array(1024)).toString()).toBe("sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef");
  });
});

describe("parseDigest", () => {
  it("round-trips every valid digest", () => {
    const hexOf = (n: number) => fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: n, maxLength: n });
    const valid = fc.constantFrom(...algorithms).chain((alg) => hexOf(encodedLength(alg)).map((hex) => `${alg}:${hex}`));
    fc.assert(
      fc.property(valid, (text) => {
        const d = parseDigest(text);
        expect(d.toString()).toBe(text);
        expect(`${d.algorithm}:${d.encoded}`).toBe(text);
        expect(parseDigest(d.toString()).equals(d)).toBe(true);
        expect(JSON.parse(JSON.stringify({ d }))).toEqual({ d: text });
      }),
    );
  });

  it("refuses every bad input with the right code, naming it", () => {
    const cases: Array<[string, string]> = [
      ["", DigestErrorCode.InvalidFormat],
      ["sha256", DigestErrorCode.InvalidFormat],
      ["sha256:", DigestErrorCode.InvalidFormat],
      [":abc", DigestErrorCode.InvalidFormat],
      [`SHA256:${"a".repeat(64)}`, DigestErrorCode.InvalidFormat],
      [`sha256:${"A".repeat(64)}`, DigestErrorCode.InvalidFormat],
      [`sha256:${"g".repeat(64)}`, DigestErrorCode.InvalidFormat],
      [`sha256:${"a".repeat(63)}/`, DigestErrorCode.InvalidFormat],
      [`sha256:${"a".repeat(63)}`, DigestErrorCode.InvalidLength],
      [`sha256:${"a".repeat(65)}`, DigestErrorCode.InvalidLength],
      [`sha512:${"a".repeat(64)}`, DigestErrorCode.InvalidLength],
      ["md5:d41d8cd98f00b204e9800998ecf8427e", DigestErrorCode.UnsupportedAlgorithm],
      ["sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564", DigestErrorCode.UnsupportedAlgorithm],
      ["../../etc/passwd", DigestErrorCode.InvalidFormat],
      [`sha256:${"a".repeat(64)}\n`, DigestErrorCode.InvalidFormat],
    ];
    for (const [input, code] of cases) {
      expectCode(() => parseDigest(input), code, JSON.stringify(input));
      expect(isDigest(input)).toBe(false);
    }
    expectCode(() => parseDigest(42 as unknown as string), DigestErrorCode.InvalidFormat);
  });

  it("accepts a one-character change of a valid digest exactly when the grammar does (fast path and fromHex)", () => {
    const strict = /^(sha256|sha384|sha512|blake3):([a-f0-9]+)$/;
    const mutated = fc.record({
      alg: fc.constantFrom(...algorithms),
      at: fc.nat(),
      ch: fc.constantFrom(..."0123456789abcdefABCDEFgz:/.-_+= \n\u00e9"),
      op: fc.constantFrom("replace", "insert", "delete"),
    });
    fc.assert(
      fc.property(mutated, ({ alg, at, ch, op }) => {
        const base = `${alg}:${"0123456789abcdef".repeat(8).slice(0, encodedLength(alg))}`;
        const i = at % (base.length + 1);
        const text =
          op === "replace"
            ? base.slice(0, i) + ch + base.slice(i + 1)
            : op === "insert"
              ? base.slice(0, i) + ch + base.slice(i)
              : base.slice(0, i) + base.slice(i + 1);
        const m = strict.exec(text);
        const valid = m !== null && m[2]!.length === encodedLength(m[1] as (typeof algorithms)[number]);
        expect(isDigest(text)).toBe(valid);
        if (valid) expect(parseDigest(text).toString()).toBe(text);
        const colon = text.indexOf(":");
        if (colon >= 0) {
          const [a, hex] = [text.slice(0, colon), text.slice(colon + 1)];
          if (valid) expect(Digest.fromHex(a, hex).toString()).toBe(text);
          else expect(() => Digest.fromHex(a, hex)).toThrow(/invalid digest/);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("refuses arbitrary garbage without crashing", () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        try {
          const d = parseDigest(s);
          expect(d.toString()).toBe(s);
        } catch (e) {
          expect(isStoreError(e)).toBe(true);
        }
      }),
    );
  });
});

describe("printing", () => {
  it("console.log and util.inspect show the digest, not its fields", () => {
    const d = parseDigest(EMPTY_SHA256);
    expect(inspect(d)).toBe(`Digest<${EMPTY_SHA256}>`);
    expect(inspect({ id: d, layers: [d] }, { breakLength: Infinity })).toBe(`{ id: Digest<${EMPTY_SHA256}>, layers: [ Digest<${EMPTY_SHA256}> ] }`);
  });

  it("serialises to its string form in JSON", () => {
    const d = parseDigest(EMPTY_SHA256);
    expect(d.toJSON()).toBe(EMPTY_SHA256);
    expect(JSON.stringify({ id: d })).toBe(`{"id":"${EMPTY_SHA256}"}`);
  });
});

describe("streams", () => {
  const data = Buffer.alloc(3 * 1024 * 1024 + 7, 7);
  const chunks = (buf: Buffer, size = 65536) => {
    const out: Buffer[] = [];
    for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
    return out;
  };

  it("digests Node streams, web streams, async and sync iterables alike", async () => {
    const want = digestFromBytes(data).toString();
    expect((await digestStream(Readable.from(chunks(data)))).toString()).toBe(want);
    expect((await digestStream(Readable.toWeb(Readable.from(chunks(data))) as AsyncIterable<Uint8Array>)).toString()).toBe(want);
    expect((await digestStream(chunks(data))).toString()).toBe(want);
    expect(
      (
        await digestStream(
          (async function* () {
            yield* chunks(data, 1000);
          })(),
        )
      ).toString(),
    ).toBe(want);
    expect((await digestStream(["foo", "bar"])).toString()).toBe(digestFromBytes("foobar").toString());
  });

  it("verifyStream passes good content through and fails bad content at the end", async () => {
    const expected = digestFromBytes(data);
    const out: Uint8Array[] = [];
    for await (const c of verifyStream(chunks(data), expected, { size: data.length })) out.push(c);
    expect(Buffer.concat(out).equals(data)).toBe(true);

    const tampered = Buffer.from(data);
    tampered[12345] ^= 1;
    await expect(async () => {
      for await (const _ of verifyStream(chunks(tampered), expected)) void _;
    }).rejects.toMatchObject({ code: DigestErrorCode.Mismatch, message: expect.stringContaining(expected.toString()) });

    await expect(async () => {
      for await (const _ of verifyStream(chunks(data), expected, { size: data.length - 1 })) void _;
    }).rejects.toMatchObject({ code: DigestErrorCode.Mismatch });
    await expect(async () => {
      for await (const _ of verifyStream(chunks(data), expected, { size: data.length + 1 })) void _;
    }).rejects.toMatchObject({ code: DigestErrorCode.Mismatch });
  });

  it("hashingStream reports digest and size after the end", async () => {
    const h = hashingStream(chunks(data));
    expect(() => h.result()).toThrow();
    for await (const _ of h.stream) void _;
    expect(h.result().digest.toString()).toBe(digestFromBytes(data).toString());
    expect(h.result().size).toBe(data.length);
  });
});

describe("toDigest", () => {
  const hex = "a".repeat(64);
  it("takes a Digest as it is and parses a string once", async () => {
    const { toDigest, parseDigest } = await import("../src/index");
    const d = parseDigest(`sha256:${hex}`);
    expect(toDigest(d)).toBe(d);
    expect(toDigest(`sha256:${hex}`).equals(d)).toBe(true);
  });
  it("refuses what is not a digest with ERR_DIGEST_INVALID_FORMAT naming it", async () => {
    const { toDigest } = await import("../src/index");
    expect(() => toDigest("sha256:zz")).toThrow(/sha256:zz/);
    expect(() => toDigest(42 as unknown as string)).toThrow(expect.objectContaining({ code: "ERR_DIGEST_INVALID_FORMAT" }));
  });
});
