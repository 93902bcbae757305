import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isStoreError } from "@store/errors";
import { ReferenceErrorCode, familiarMatch, globMatch, parseAnyReference, parseNormalizedNamed, tagNameOnly } from "../src/index";
import { parseNormalizedNamedFully } from "../src/reference";

const hex = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

describe("reference parsing (distribution/reference)", () => {
  it("the fast path for tagged Docker Hub names parses exactly as the full grammar does", () => {
    const outcome = (parse: (s: string) => unknown, input: string) => {
      try {
        const r = parse(input) as { domain: string; path: string; tag?: string; digest?: unknown; familiar: string; familiarName: string };
        return { domain: r.domain, path: r.path, tag: r.tag, digest: String(r.digest), familiar: r.familiar, familiarName: r.familiarName, full: String(r) };
      } catch (e) {
        return { error: (e as Error).message };
      }
    };
    const component = fc.string({ unit: fc.constantFrom(..."ab0z9._-L:"), minLength: 0, maxLength: 6 });
    const name = fc
      .array(fc.oneof(component, fc.constantFrom("localhost", "docker.io", "index.docker.io", "library", "library", "a.b", "x__y", "x---y")), {
        minLength: 1,
        maxLength: 4,
      })
      .map((c) => c.join("/"));
    const tag = fc.oneof(fc.string({ unit: fc.constantFrom(..."aZ09_.-/:@"), maxLength: 8 }), fc.constant("t".repeat(128)), fc.constant("t".repeat(129)));
    const input = fc.oneof(
      fc.tuple(name, tag).map(([n, t]) => `${n}:${t}`),
      name,
      fc.string({ maxLength: 20 }),
      fc.constant(`${"a".repeat(250)}:1`),
      fc.constant(`a/${"b".repeat(254)}:1`),
    );
    fc.assert(
      fc.property(input, (text) => {
        expect(outcome(parseNormalizedNamed, text)).toEqual(outcome(parseNormalizedNamedFully, text));
      }),
      { numRuns: 5000 },
    );
  });

  it.each([
    ["busybox", "docker.io/library/busybox", "busybox"],
    ["busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"],
    ["docker.io/busybox", "docker.io/library/busybox", "busybox"],
    ["index.docker.io/library/busybox", "docker.io/library/busybox", "busybox"],
    ["docker.io/library/busybox:latest", "docker.io/library/busybox:latest", "busybox:latest"],
    ["user/app", "docker.io/user/app", "user/app"],
    ["library/a/b", "docker.io/library/a/b", "library/a/b"],
    ["localhost/app", "localhost/app", "localhost/app"],
    ["localhost:5000/a/b:t", "localhost:5000/a/b:t", "localhost:5000/a/b:t"],
    ["example.com/x__y.z-w---v:T_a.g-1", "example.com/x__y.z-w---v:T_a.g-1", "example.com/x__y.z-w---v:T_a.g-1"],
    ["[::1]:5000/app", "[::1]:5000/app", "[::1]:5000/app"],
    ["Foo/bar", "Foo/bar", "Foo/bar"],
    [`busybox@sha256:${hex}`, `docker.io/library/busybox@sha256:${hex}`, `busybox@sha256:${hex}`],
    [`busybox:1@sha256:${hex}`, `docker.io/library/busybox:1@sha256:${hex}`, `busybox:1@sha256:${hex}`],
  ])("%s", (input, full, familiar) => {
    const ref = parseNormalizedNamed(input);
    expect(ref.toString()).toBe(full);
    expect(ref.familiar).toBe(familiar);
  });

  it.each([
    ["", /at least one component/],
    ["BusyBox", /must be lowercase/],
    [hex, /cannot specify 64-byte hexadecimal strings/],
    [":tag", /invalid reference format/],
    ["a/", /invalid reference format/],
    ["a//b", /invalid reference format/],
    ["-a", /invalid reference format/],
    ["a:b:c", /invalid reference format/],
    ["a_-b", /invalid reference format/],
    [`a:${"t".repeat(129)}`, /invalid reference format/],
    [`${"a".repeat(256)}`, /not be more than 255/],
    ["busybox@sha256:abc", /invalid reference format/],
    [`busybox@sha256:${hex.toUpperCase()}`, /lowercase/],
    [`busybox@md5:${hex}`, /unsupported algorithm/],
  ])("refuses %j", (input, message) => {
    let err: unknown;
    try {
      parseNormalizedNamed(input);
    } catch (e) {
      err = e;
    }
    expect(isStoreError(err, ReferenceErrorCode.Invalid)).toBe(true);
    expect((err as Error).message).toMatch(message);
    if (input) expect((err as Error).message).toContain(JSON.stringify(input.slice(0, 50)).slice(0, 40));
  });

  it("reads IDs and digests as digests, else names", () => {
    expect(String((parseAnyReference(hex) as { digest: unknown }).digest)).toBe(`sha256:${hex}`);
    expect(String((parseAnyReference(`sha256:${hex}`) as { digest: unknown }).digest)).toBe(`sha256:${hex}`);
    expect(String(parseAnyReference("busybox:sha256"))).toBe("docker.io/library/busybox:sha256");
    expect(String(parseAnyReference("8d25a9"))).toBe("docker.io/library/8d25a9");
    expect(tagNameOnly(parseNormalizedNamed("a")).familiar).toBe("a:latest");
  });
});

describe("glob match (Go path.Match)", () => {
  it.each([
    ["abc", "abc", true],
    ["*", "abc", true],
    ["*c", "abc", true],
    ["a*", "a", true],
    ["a*", "ab/c", false],
    ["a*/b", "abc/b", true],
    ["a*b*c*d*e*/f", "axbxcxdxe/f", true],
    ["a*b*c*d*e*/f", "axbxcxdxexxx/f", true],
    ["a*b?c*x", "abxbbxdbxebxczzx", true],
    ["a*b?c*x", "abxbbxdbxebxczzy", false],
    ["ab[c]", "abc", true],
    ["ab[b-d]", "abc", true],
    ["ab[e-g]", "abc", false],
    ["ab[^c]", "abc", false],
    ["ab[^e-g]", "abc", true],
    ["a\\*b", "a*b", true],
    ["a\\*b", "ab", false],
    ["a?b", "a/b", false],
    ["a*b", "a/b", false],
    ["busybox:*", "busybox:latest", true],
  ])("%s ~ %s", (pattern, name, want) => {
    expect(globMatch(pattern, name)).toBe(want);
  });

  it.each(["[", "[^", "[]a]", "a[", "ab[", "ab[^", "*x\\", "[-]", "[x-]", "a\\", "[a-b-c]", "*x["])("refuses %j", (pattern) => {
    expect(() => globMatch(pattern, "x")).toThrow(expect.objectContaining({ code: ReferenceErrorCode.InvalidPattern }));
  });

  it("matches references like docker's reference filter", () => {
    const ref = parseNormalizedNamed("busybox:latest");
    expect(familiarMatch("busybox", ref)).toBe(true);
    expect(familiarMatch("busy*", ref)).toBe(true);
    expect(familiarMatch("busybox:l*", ref)).toBe(true);
    expect(familiarMatch("docker.io/library/busybox", ref)).toBe(false);
    expect(familiarMatch("*/busybox", ref)).toBe(false);
    expect(familiarMatch("localhost:5000/*/*", parseNormalizedNamed("localhost:5000/a/b:t"))).toBe(true);
  });
});
