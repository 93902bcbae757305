import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  formatPlatform,
  hostPlatform,
  type IndexEntry,
  type ImageIndex,
  MediaType,
  noMatchingManifest,
  normalizePlatform,
  type Platform,
  parseManifest,
  parsePlatform,
  platformMatches,
  platformVector,
  RegistryError,
  RegistryErrorCode,
  selectManifests,
} from "../src/index";

const amd64Host: Platform = { os: "linux", architecture: "amd64" };
const armHost: Platform = { os: "linux", architecture: "arm", variant: "v6" };

describe("parsePlatform (docker's --platform, containerd's platforms.Parse)", () => {
  const cases: [string, Platform][] = [
    ["linux/arm64/v8", { os: "linux", architecture: "arm64", variant: "v8" }],
    ["linux/arm64", { os: "linux", architecture: "arm64" }],
    ["linux/aarch64", { os: "linux", architecture: "arm64" }],
    ["linux/arm64/8", { os: "linux", architecture: "arm64", variant: "v8" }],
    ["Linux/AMD64", { os: "linux", architecture: "amd64" }],
    ["linux/x86_64", { os: "linux", architecture: "amd64" }],
    ["linux/x86-64/v1", { os: "linux", architecture: "amd64" }],
    ["linux/amd64/v3", { os: "linux", architecture: "amd64", variant: "v3" }],
    ["linux/i386", { os: "linux", architecture: "386" }],
    ["linux/armhf", { os: "linux", architecture: "arm" }],
    ["linux/armel", { os: "linux", architecture: "arm", variant: "v6" }],
    ["linux/arm", { os: "linux", architecture: "arm" }],
    ["linux/arm/7", { os: "linux", architecture: "arm", variant: "v7" }],
    ["linux/arm/v5", { os: "linux", architecture: "arm", variant: "v5" }],
    ["macos/arm64", { os: "darwin", architecture: "arm64" }],
    ["windows(10.0.17763)/amd64", { os: "windows", architecture: "amd64", "os.version": "10.0.17763" }],
    ["linux/riscv64", { os: "linux", architecture: "riscv64" }],
    ["linux/made-up", { os: "linux", architecture: "made-up" }],
    // A lone OS takes the host's architecture (and its variant, for arm other than v7) …
    ["linux", { os: "linux", architecture: "amd64" }],
    ["windows", { os: "windows", architecture: "amd64" }],
    // … a lone architecture the host's OS.
    ["arm64", { os: "linux", architecture: "arm64" }],
    ["aarch64", { os: "linux", architecture: "arm64" }],
    ["armhf", { os: "linux", architecture: "arm" }],
  ];
  for (const [specifier, expected] of cases) {
    it(specifier, () => expect(parsePlatform(specifier, { host: amd64Host })).toEqual(expected));
  }

  it("a lone OS on an arm/v6 host takes its variant", () => {
    expect(parsePlatform("linux", { host: armHost })).toEqual({ os: "linux", architecture: "arm", variant: "v6" });
  });

  // Messages as dockerd answers `docker pull --platform <it>` (checked against dockerd 20.10 here).
  const errors: [string, string][] = [
    ["foo", '"foo": unknown operating system or architecture: invalid argument'],
    [
      "",
      '"" is an invalid OS component of "": OSAndVersion specifier component must match "^([A-Za-z0-9_-]+)(?:\\\\(([A-Za-z0-9_.-]*)\\\\))?$": invalid argument',
    ],
    ["linux/*", '"linux/*": wildcards not yet supported: invalid argument'],
    ["linux/arm64/v8/x", '"linux/arm64/v8/x": cannot parse platform specifier: invalid argument'],
    ["linux/arm64/v8/x/y", '"linux/arm64/v8/x/y": cannot parse platform specifier: invalid argument'],
    ["linux/arm64/v8/x/", '"" is an invalid component of "linux/arm64/v8/x/": platform specifier component must match "^[A-Za-z0-9_-]+$": invalid argument'],
    ["linux/arm64/v8.2", '"v8.2" is an invalid component of "linux/arm64/v8.2": platform specifier component must match "^[A-Za-z0-9_-]+$": invalid argument'],
    ["linux/", '"" is an invalid component of "linux/": platform specifier component must match "^[A-Za-z0-9_-]+$": invalid argument'],
    ["linux/arm 64", '"arm 64" is an invalid component of "linux/arm 64": platform specifier component must match "^[A-Za-z0-9_-]+$": invalid argument'],
    [
      "linux/a\u2028b\u{1F600}é",
      '"a\\u2028b😀é" is an invalid component of "linux/a\\u2028b😀é": platform specifier component must match "^[A-Za-z0-9_-]+$": invalid argument',
    ],
    [
      "li\nnux/amd64",
      '"li\\nnux" is an invalid OS component of "li\\nnux/amd64": OSAndVersion specifier component must match "^([A-Za-z0-9_-]+)(?:\\\\(([A-Za-z0-9_.-]*)\\\\))?$": invalid argument',
    ],
  ];
  for (const [specifier, message] of errors) {
    it(`refuses ${JSON.stringify(specifier)} with docker's message`, () => {
      let error: unknown;
      try {
        parsePlatform(specifier, { host: amd64Host });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(RegistryError);
      expect((error as RegistryError).code).toBe(RegistryErrorCode.PlatformInvalid);
      expect((error as RegistryError).kind).toBe("invalid");
      expect((error as RegistryError).message).toBe(message);
    });
  }

  it("any string gives a platform or a RegistryError, never another throw (fast-check)", () => {
    const alphabet = fc.constantFrom(..."linuxarm64v8/()._-* \nAZ".split(""));
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary" }), fc.string({ unit: alphabet })), (text) => {
        try {
          const p = parsePlatform(text, { host: amd64Host });
          expect(typeof p.os).toBe("string");
          expect(typeof p.architecture).toBe("string");
        } catch (e) {
          if (!(e instanceof RegistryError)) throw e;
          expect(e.code).toBe(RegistryErrorCode.PlatformInvalid);
          // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this looks for
          expect(e.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
        }
      }),
    );
  });
});

describe("normalizePlatform", () => {
  const cases: [Platform, Platform][] = [
    [
      { os: "Linux", architecture: "x86_64" },
      { os: "linux", architecture: "amd64" },
    ],
    [
      { os: "linux", architecture: "amd64", variant: "v1" },
      { os: "linux", architecture: "amd64" },
    ],
    [
      { os: "linux", architecture: "aarch64", variant: "v8" },
      { os: "linux", architecture: "arm64" },
    ],
    [
      { os: "linux", architecture: "arm64", variant: "v8.0" },
      { os: "linux", architecture: "arm64" },
    ],
    [
      { os: "linux", architecture: "arm64", variant: "9" },
      { os: "linux", architecture: "arm64", variant: "v9" },
    ],
    [
      { os: "linux", architecture: "arm64", variant: "v8.2" },
      { os: "linux", architecture: "arm64", variant: "v8.2" },
    ],
    [
      { os: "linux", architecture: "armhf" },
      { os: "linux", architecture: "arm", variant: "v7" },
    ],
    [
      { os: "linux", architecture: "armel" },
      { os: "linux", architecture: "arm", variant: "v6" },
    ],
    [
      { os: "linux", architecture: "arm" },
      { os: "linux", architecture: "arm", variant: "v7" },
    ],
    [
      { os: "linux", architecture: "arm", variant: "6" },
      { os: "linux", architecture: "arm", variant: "v6" },
    ],
    [
      { os: "linux", architecture: "i386", variant: "x" },
      { os: "linux", architecture: "386" },
    ],
    [
      { os: "macos", architecture: "arm64" },
      { os: "darwin", architecture: "arm64" },
    ],
  ];
  for (const [input, expected] of cases) {
    it(`${formatPlatform(input)} → ${formatPlatform(expected)}`, () => expect(normalizePlatform(input)).toEqual(expected));
  }
});

describe("hostPlatform", () => {
  it("names this machine as Go and image platforms do", () => {
    const host = hostPlatform();
    const expectedArch = { x64: "amd64", arm64: "arm64", ia32: "386", arm: "arm" }[process.arch as string] ?? process.arch;
    expect(host.os).toBe(process.platform === "win32" ? "windows" : process.platform);
    expect(host.architecture).toBe(expectedArch);
    if (host.architecture !== "arm") expect(host.variant).toBeUndefined();
  });
});

describe("platformVector (containerd's platforms.Only)", () => {
  // A variant with a dot (v8.2) cannot be typed as --platform (containerd's grammar has no dots), but an index can hold it.
  const asPlatform = (p: string): Platform => {
    const [os, architecture, variant] = p.split("/") as [string, string, string | undefined];
    return variant === undefined ? { os, architecture } : { os, architecture, variant };
  };
  const vec = (p: string) => platformVector(asPlatform(p)).map((k) => [k.os, k.architecture, k.variant].filter(Boolean).join("/"));
  it("amd64 falls back to 386, on every OS", () => {
    expect(vec("linux/amd64")).toEqual(["linux/amd64", "linux/386"]);
    expect(vec("windows/amd64")).toEqual(["windows/amd64", "windows/386"]);
  });
  it("amd64/vN falls back level by level, then 386", () => {
    expect(vec("linux/amd64/v3")).toEqual(["linux/amd64/v3", "linux/amd64/v2", "linux/amd64", "linux/386"]);
  });
  it("arm/vN falls back to v5", () => {
    expect(vec("linux/arm/v7")).toEqual(["linux/arm/v7", "linux/arm/v6", "linux/arm/v5"]);
    expect(vec("linux/arm")).toEqual(["linux/arm/v7", "linux/arm/v6", "linux/arm/v5"]);
    expect(platformVector(parsePlatform("linux/arm", { host: amd64Host }))).toEqual(platformVector(asPlatform("linux/arm/v7")));
    expect(vec("linux/arm/v5")).toEqual(["linux/arm/v5"]);
  });
  it("arm64 (v8) falls back to 32-bit arm v8 to v5", () => {
    expect(vec("linux/arm64")).toEqual(["linux/arm64", "linux/arm/v8", "linux/arm/v7", "linux/arm/v6", "linux/arm/v5"]);
    expect(vec("linux/arm64/v8")).toEqual(vec("linux/arm64"));
  });
  it("arm64/v8.x falls back through the v8 minors", () => {
    expect(vec("linux/arm64/v8.2")).toEqual([
      "linux/arm64/v8.2",
      "linux/arm64/v8.1",
      "linux/arm64",
      "linux/arm/v8",
      "linux/arm/v7",
      "linux/arm/v6",
      "linux/arm/v5",
    ]);
  });
  it("arm64/v9.x runs v9 minors, then v8.(x+5) down", () => {
    expect(vec("linux/arm64/v9.1")).toEqual([
      "linux/arm64/v9.1",
      "linux/arm64/v9",
      "linux/arm64/v8.6",
      "linux/arm64/v8.5",
      "linux/arm64/v8.4",
      "linux/arm64/v8.3",
      "linux/arm64/v8.2",
      "linux/arm64/v8.1",
      "linux/arm64",
      "linux/arm/v8",
      "linux/arm/v7",
      "linux/arm/v6",
      "linux/arm/v5",
    ]);
    // Plain v9 keeps its number for 32-bit arm, as containerd has it.
    expect(vec("linux/arm64/v9")).toEqual([
      "linux/arm64/v9",
      "linux/arm64/v8.5",
      "linux/arm64/v8.4",
      "linux/arm64/v8.3",
      "linux/arm64/v8.2",
      "linux/arm64/v8.1",
      "linux/arm64",
      "linux/arm/v9",
      "linux/arm/v8",
      "linux/arm/v7",
      "linux/arm/v6",
      "linux/arm/v5",
    ]);
  });
  it("other architectures match only themselves", () => {
    expect(vec("linux/s390x")).toEqual(["linux/s390x"]);
  });
});

describe("selectManifests", () => {
  const d = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;
  let n = 0;
  const entry = (platform?: Platform, mediaType: string = MediaType.OciManifest, annotations?: Record<string, string>) => ({
    mediaType,
    digest: d(++n),
    size: 1,
    ...(platform ? { platform } : {}),
    ...(annotations ? { annotations } : {}),
  });
  const index = (...entries: ReturnType<typeof entry>[]): ImageIndex => {
    const parsed = parseManifest(new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: entries })));
    if (parsed.kind !== "index") throw new Error("index expected");
    return parsed;
  };
  const pick = (i: ImageIndex, p?: string) =>
    selectManifests(i, p === undefined ? undefined : parsePlatform(p, { host: amd64Host })).map((e) => i.manifests.indexOf(e));

  it("picks the exact platform first, then fallbacks in the vector's order", () => {
    const i = index(
      entry({ os: "linux", architecture: "arm", variant: "v6" }),
      entry({ os: "linux", architecture: "arm", variant: "v7" }),
      entry({ os: "linux", architecture: "arm64", variant: "v8" }),
      entry({ os: "linux", architecture: "amd64" }),
    );
    expect(pick(i, "linux/arm64")).toEqual([2, 1, 0]);
    expect(pick(i, "linux/arm/v7")).toEqual([1, 0]);
    expect(pick(i, "linux/arm/v6")).toEqual([0]);
    expect(pick(i, "linux/amd64")).toEqual([3]);
  });

  it("linux/arm64 and linux/arm64/v8 match each other, aarch64 too", () => {
    const i = index(entry({ os: "linux", architecture: "aarch64" }));
    expect(pick(i, "linux/arm64/v8")).toEqual([0]);
    expect(pick(i, "linux/arm64")).toEqual([0]);
  });

  it("amd64 takes a 386 image when there is nothing better", () => {
    const i = index(entry({ os: "linux", architecture: "386" }), entry({ os: "linux", architecture: "amd64" }));
    expect(pick(i, "linux/amd64")).toEqual([1, 0]);
    expect(pick(index(entry({ os: "linux", architecture: "i386" })), "linux/amd64")).toEqual([0]);
  });

  it("an amd64/v2 host takes v2, then v1; a plain amd64 host does not take v3", () => {
    const i = index(
      entry({ os: "linux", architecture: "amd64", variant: "v3" }),
      entry({ os: "linux", architecture: "amd64" }),
      entry({ os: "linux", architecture: "amd64", variant: "v2" }),
    );
    expect(pick(i, "linux/amd64/v2")).toEqual([2, 1]);
    expect(pick(i, "linux/amd64")).toEqual([1]);
  });

  it("does not cross operating systems", () => {
    const i = index(entry({ os: "windows", architecture: "amd64" }), entry({ os: "linux", architecture: "amd64" }));
    expect(pick(i, "linux/amd64")).toEqual([1]);
    expect(pick(i, "windows/amd64")).toEqual([0]);
  });

  it("entries without a platform match any and come last, in index order", () => {
    const i = index(entry(), entry({ os: "linux", architecture: "386" }), entry(), entry({ os: "linux", architecture: "amd64" }));
    expect(pick(i, "linux/amd64")).toEqual([3, 1, 0, 2]);
    expect(pick(i, "linux/s390x")).toEqual([0, 2]);
  });

  it("never picks attestation manifests (unknown/unknown), even when asked for unknown/unknown", () => {
    const i = index(
      entry({ os: "linux", architecture: "amd64" }),
      entry({ os: "unknown", architecture: "unknown" }, MediaType.OciManifest, { "vnd.docker.reference.type": "attestation-manifest" }),
      entry(undefined, MediaType.OciManifest, { "vnd.docker.reference.type": "attestation-manifest" }),
    );
    expect(pick(i, "linux/amd64")).toEqual([0]);
    expect(pick(i, "unknown/unknown")).toEqual([]);
  });

  it("skips entries of unknown media types, and returns nested indexes as candidates", () => {
    const i = index(
      entry({ os: "linux", architecture: "amd64" }, "application/vnd.example+json"),
      entry({ os: "linux", architecture: "amd64" }, MediaType.OciIndex),
      entry({ os: "linux", architecture: "amd64" }, MediaType.DockerManifest),
    );
    expect(pick(i, "linux/amd64")).toEqual([1, 2]);
  });

  it("equal matches keep the index's order", () => {
    const i = index(entry({ os: "linux", architecture: "arm64" }), entry({ os: "linux", architecture: "arm64", variant: "v8" }));
    expect(pick(i, "linux/arm64")).toEqual([0, 1]);
  });

  it("nothing fits: empty", () => {
    expect(pick(index(entry({ os: "linux", architecture: "ppc64le" })), "linux/amd64")).toEqual([]);
  });

  it("defaults to the host's platform", () => {
    const host = hostPlatform();
    const i = index(entry({ os: "plan9", architecture: "mips" }), entry(host));
    expect(pick(i)).toEqual([1]);
  });

  it("nothing fits: dockerd's error, word for word", () => {
    const e = noMatchingManifest(parsePlatform("linux/arm64/v8", { host: amd64Host }));
    expect(e.message).toBe("no matching manifest for linux/arm64/v8 in the manifest list entries");
    expect(e.code).toBe(RegistryErrorCode.PlatformNotFound);
    expect(e.kind).toBe("notFound");
  });

  it("holds for any index and platform: only supported non-attestation entries, all that match, ranked, platform-less last (fast-check)", () => {
    const words = {
      os: ["linux", "Linux", "windows", "unknown"],
      arch: ["amd64", "x86_64", "386", "arm", "arm64", "aarch64", "armhf", "unknown", "s390x"],
      variant: ["", "v5", "v6", "v7", "v8", "8", "v8.1", "v9", "v2", "v3"],
    };
    const platformArb = fc
      .record({ os: fc.constantFrom(...words.os), architecture: fc.constantFrom(...words.arch), variant: fc.constantFrom(...words.variant) })
      .map((p) => (p.variant === "" ? { os: p.os, architecture: p.architecture } : p));
    const entryArb = fc.record({
      platform: fc.option(platformArb, { nil: undefined }),
      mediaType: fc.constantFrom(MediaType.OciManifest, MediaType.DockerManifest, MediaType.OciIndex, "application/vnd.example+json"),
    });
    fc.assert(
      fc.property(fc.array(entryArb, { maxLength: 12 }), platformArb, (specs, target) => {
        const i = index(...specs.map((s) => entry(s.platform, s.mediaType)));
        const picked = selectManifests(i, target);
        const vector = platformVector(target);
        const rankOf = (e: IndexEntry) => (e.platform === undefined ? Number.POSITIVE_INFINITY : vector.findIndex((k) => platformMatches(k, e.platform!)));
        const eligible = i.manifests.filter((e) => e.supported && !(e.platform?.os === "unknown" && e.platform.architecture === "unknown") && rankOf(e) >= 0);
        expect(new Set(picked)).toEqual(new Set(eligible));
        const ranks = picked.map(rankOf);
        expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
        for (let k = 1; k < picked.length; k++) {
          if (ranks[k] === ranks[k - 1]) expect(i.manifests.indexOf(picked[k]!)).toBeGreaterThan(i.manifests.indexOf(picked[k - 1]!));
        }
      }),
    );
  });

  it("an empty platform object is no platform (moby's manifest list reading)", () => {
    const i = index({ ...entry(), platform: {} } as ReturnType<typeof entry>);
    expect(i.manifests[0]!.platform).toBeUndefined();
    expect(pick(i, "linux/amd64")).toEqual([0]);
  });
});
