import { readFileSync } from "node:fs";
import { isStoreError } from "@store/errors";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isForeignLayer, layerCompression, MediaType, parseManifest, RegistryError, RegistryErrorCode } from "../src/index";

const encode = (value: unknown) => new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));
const hex = (c: string) => c.repeat(64);
const digestOf = (c: string) => `sha256:${hex(c)}`;
const layer = (c: string, mediaType: string = MediaType.OciLayerGzip) => ({ mediaType, digest: digestOf(c), size: 10 });
const ociManifest = (extra: Record<string, unknown> = {}) => ({
  schemaVersion: 2,
  mediaType: MediaType.OciManifest,
  config: { mediaType: MediaType.OciConfig, digest: digestOf("c"), size: 2 },
  layers: [layer("a"), layer("b")],
  ...extra,
});
const ociIndex = (manifests: unknown[], extra: Record<string, unknown> = {}) => ({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests, ...extra });

function thrown(fn: () => unknown): RegistryError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RegistryError);
    return e as RegistryError;
  }
  throw new Error("expected a throw");
}

describe("parseManifest", () => {
  it("reads a schema2 manifest as docker 28 pushed it, byte for byte from the registry", () => {
    const bytes = readFileSync(new URL("fixtures/docker-schema2-manifest.json", import.meta.url));
    const m = parseManifest(bytes, MediaType.DockerManifest);
    expect(m.kind).toBe("manifest");
    if (m.kind !== "manifest") return;
    expect(m.mediaType).toBe(MediaType.DockerManifest);
    expect(m.config.digest.toString()).toBe("sha256:f8936f9fc062635ab5b5a2a21d365757ffbfb182104a6df04117002174ef5c46");
    expect(m.config.size).toBe(1945);
    expect(m.layers.map((l) => l.size)).toEqual([1064561, 3001126, 12003849, 150242]);
    expect(m.layers.every((l) => layerCompression(l.mediaType) === "gzip")).toBe(true);
  });

  it("reads an OCI index: platforms, annotations, and entries of unknown media types kept but marked", () => {
    const bytes = encode(
      ociIndex(
        [
          { mediaType: MediaType.OciManifest, digest: digestOf("1"), size: 100, platform: { os: "linux", architecture: "arm", variant: "v7" } },
          {
            mediaType: MediaType.OciManifest,
            digest: digestOf("2"),
            size: 100,
            platform: { os: "windows", architecture: "amd64", "os.version": "10.0.17763.1", "os.features": ["win32k"] },
          },
          { mediaType: "application/vnd.example.thing+json", digest: digestOf("3"), size: 5 },
          { mediaType: MediaType.DockerManifestList, digest: digestOf("4"), size: 50 },
        ],
        { annotations: { "org.opencontainers.image.ref.name": "latest" } },
      ),
    );
    const index = parseManifest(bytes, `${MediaType.OciIndex}; charset=utf-8`);
    expect(index.kind).toBe("index");
    if (index.kind !== "index") return;
    expect(index.annotations).toEqual({ "org.opencontainers.image.ref.name": "latest" });
    expect(index.manifests.map((m) => m.supported)).toEqual([true, true, false, true]);
    expect(index.manifests[0]!.platform).toEqual({ os: "linux", architecture: "arm", variant: "v7" });
    expect(index.manifests[1]!.platform).toEqual({ os: "windows", architecture: "amd64", "os.version": "10.0.17763.1", "os.features": ["win32k"] });
  });

  it("takes the media type from the body, or from its fields, when the Content-Type says nothing", () => {
    expect(parseManifest(encode(ociManifest()), "application/json").mediaType).toBe(MediaType.OciManifest);
    const { mediaType: _m, ...bare } = ociManifest();
    expect(parseManifest(encode(bare)).mediaType).toBe(MediaType.OciManifest);
    expect(parseManifest(encode({ schemaVersion: 2, manifests: [] })).kind).toBe("index");
    expect(parseManifest(encode(bare), MediaType.OciManifest).kind).toBe("manifest");
  });

  it("keeps foreign layers and their urls, and says which compression each layer type has", () => {
    const m = parseManifest(
      encode(ociManifest({ layers: [{ ...layer("f", MediaType.DockerForeignLayer), urls: ["https://example.com/x"] }, layer("e", MediaType.OciLayerZstd)] })),
    );
    if (m.kind !== "manifest") throw new Error("manifest expected");
    expect(m.layers[0]!.urls).toEqual(["https://example.com/x"]);
    expect(isForeignLayer(m.layers[0]!.mediaType)).toBe(true);
    expect(layerCompression(MediaType.OciLayerZstd)).toBe("zstd");
    expect(layerCompression(MediaType.OciLayer)).toBe("none");
    expect(layerCompression(MediaType.OciLayerNonDistributableGzip)).toBe("gzip");
    expect(isForeignLayer(MediaType.OciLayerNonDistributable)).toBe(true);
    expect(isForeignLayer(MediaType.DockerLayer)).toBe(false);
    expect(layerCompression("application/json")).toBeUndefined();
  });

  it("keeps OCI 1.1 fields: artifactType and subject", () => {
    const m = parseManifest(
      encode(ociManifest({ artifactType: "application/vnd.example", subject: { mediaType: MediaType.OciManifest, digest: digestOf("9"), size: 3 } })),
    );
    expect(m.artifactType).toBe("application/vnd.example");
    expect(m.subject?.digest.toString()).toBe(digestOf("9"));
  });

  describe("refuses, with one clear line", () => {
    const cases: [string, Uint8Array, string | undefined, RegistryErrorCode, RegExp][] = [
      ["bytes that are not UTF-8", new Uint8Array([0xff, 0xfe, 0x7b]), undefined, RegistryErrorCode.ManifestInvalid, /^invalid manifest: not JSON/],
      ["bytes that are not JSON", encode("{nope"), undefined, RegistryErrorCode.ManifestInvalid, /^invalid manifest: not JSON/],
      ["JSON that is not an object", encode("[1]"), undefined, RegistryErrorCode.ManifestInvalid, /not a JSON object/],
      ["no schemaVersion", encode({ ...ociManifest(), schemaVersion: undefined }), undefined, RegistryErrorCode.ManifestInvalid, /schemaVersion: missing/],
      ["schemaVersion 3", encode(ociManifest({ schemaVersion: 3 })), undefined, RegistryErrorCode.ManifestInvalid, /schemaVersion: 3, 2 is required/],
      ['schemaVersion "2"', encode(ociManifest({ schemaVersion: "2" })), undefined, RegistryErrorCode.ManifestInvalid, /schemaVersion/],
      [
        "a body mediaType other than the Content-Type",
        encode(ociManifest()),
        MediaType.DockerManifest,
        RegistryErrorCode.ManifestInvalid,
        /mediaType: "application\/vnd.oci.image.manifest.v1\+json" does not match the Content-Type "application\/vnd.docker.distribution.manifest.v2\+json"/,
      ],
      [
        "an unknown manifest type",
        encode(ociManifest({ mediaType: "application/vnd.example+json" })),
        undefined,
        RegistryErrorCode.ManifestUnsupported,
        /unsupported manifest media type/,
      ],
      [
        "an unknown Content-Type",
        encode({ schemaVersion: 2 }),
        "application/vnd.example+json",
        RegistryErrorCode.ManifestUnsupported,
        /unsupported manifest media type/,
      ],
      [
        "a manifest without config",
        encode({ ...ociManifest(), config: undefined }),
        undefined,
        RegistryErrorCode.ManifestInvalid,
        /manifest.config: expected a descriptor object, got nothing/,
      ],
      ["a manifest without layers", encode({ ...ociManifest(), layers: undefined }), undefined, RegistryErrorCode.ManifestInvalid, /manifest.layers: missing/],
      ["a manifest that also has manifests", encode(ociManifest({ manifests: [] })), undefined, RegistryErrorCode.ManifestInvalid, /ambiguous/],
      ["an index that also has layers", encode(ociIndex([], { layers: [] })), undefined, RegistryErrorCode.ManifestInvalid, /ambiguous/],
      [
        "a bad digest",
        encode(ociManifest({ layers: [{ ...layer("a"), digest: "sha256:xyz" }] })),
        undefined,
        RegistryErrorCode.ManifestInvalid,
        /layers\[0\].digest: invalid digest/,
      ],
      [
        "an uppercase digest",
        encode(ociManifest({ layers: [{ ...layer("a"), digest: `sha256:${hex("A")}` }] })),
        undefined,
        RegistryErrorCode.ManifestInvalid,
        /layers\[0\].digest/,
      ],
      [
        "a negative size",
        encode(ociManifest({ layers: [{ ...layer("a"), size: -1 }] })),
        undefined,
        RegistryErrorCode.ManifestInvalid,
        /layers\[0\].size: expected a non-negative integer/,
      ],
      ["a fractional size", encode(ociManifest({ layers: [{ ...layer("a"), size: 1.5 }] })), undefined, RegistryErrorCode.ManifestInvalid, /size/],
      ["a size past 2^53", encode(ociManifest({ layers: [{ ...layer("a"), size: 2 ** 53 }] })), undefined, RegistryErrorCode.ManifestInvalid, /size/],
      ["a size as a string", encode(ociManifest({ layers: [{ ...layer("a"), size: "10" }] })), undefined, RegistryErrorCode.ManifestInvalid, /size/],
      [
        "an index entry without a digest",
        encode(ociIndex([{ mediaType: MediaType.OciManifest, size: 1 }])),
        undefined,
        RegistryErrorCode.ManifestInvalid,
        /manifests\[0\].digest: missing/,
      ],
      [
        "a platform without architecture",
        encode(ociIndex([{ mediaType: MediaType.OciManifest, digest: digestOf("1"), size: 1, platform: { os: "linux" } }])),
        undefined,
        RegistryErrorCode.ManifestInvalid,
        /manifests\[0\].platform.architecture: missing/,
      ],
      [
        "annotations that are not strings",
        encode(ociManifest({ annotations: { a: 1 } })),
        undefined,
        RegistryErrorCode.ManifestInvalid,
        /annotations.a: expected a string/,
      ],
      [
        "a layer of a config's media type",
        encode(ociManifest({ layers: [layer("a", MediaType.OciConfig)] })),
        undefined,
        RegistryErrorCode.LayerUnsupported,
        /^unsupported media type application\/vnd.oci.image.config.v1\+json$/,
      ],
      [
        "a layer media type with a newline and an escape in it",
        encode(ociManifest({ layers: [layer("a", "x\n\u001b[2J")] })),
        undefined,
        RegistryErrorCode.LayerUnsupported,
        /^unsupported media type x\\u000a\\u001b\[2J$/,
      ],
      [
        "an annotation key with a newline in it",
        encode(ociManifest({ annotations: { "a\nb": 1 } })),
        undefined,
        RegistryErrorCode.ManifestInvalid,
        /annotations.a\\u000ab: expected a string/,
      ],
    ];
    for (const [name, bytes, contentType, code, message] of cases) {
      it(name, () => {
        const e = thrown(() => parseManifest(bytes, contentType));
        expect(e.code).toBe(code);
        expect(e.message).toMatch(message);
        expect(e.message).not.toContain("\n");
      });
    }
  });

  describe("refuses schema1 with dockerd's message", () => {
    const signed = encode({ schemaVersion: 1, name: "library/busybox", tag: "latest", architecture: "amd64", fsLayers: [], history: [], signatures: [] });
    const expected =
      "Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed. Suggest the author of docker.io/library/busybox:latest to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2. More information at https://docs.docker.com/go/deprecated-image-specs/";
    for (const contentType of [MediaType.DockerSchema1SignedManifest, MediaType.DockerSchema1Manifest, "application/json", undefined]) {
      it(`Content-Type ${contentType ?? "(none)"}`, () => {
        const e = thrown(() => parseManifest(signed, contentType, { reference: "docker.io/library/busybox:latest" }));
        expect(e.code).toBe(RegistryErrorCode.Schema1Unsupported);
        expect(e.kind).toBe("unsupported");
        expect(e.message).toBe(expected);
      });
    }
    it("without a reference, as moby says it then", () => {
      expect(thrown(() => parseManifest(signed)).message).toBe(
        "Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed. More information at https://docs.docker.com/go/deprecated-image-specs/",
      );
    });
  });

  describe("any input gives a value or a RegistryError, never another throw (fast-check)", () => {
    const check = (bytes: Uint8Array, contentType?: string) => {
      try {
        const m = parseManifest(bytes, contentType);
        expect(["manifest", "index"]).toContain(m.kind);
      } catch (e) {
        if (!(e instanceof RegistryError) || !isStoreError(e)) throw e;
        // One line, and nothing a terminal would act on, whatever the registry sent.
        // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this looks for
        expect(e.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
      }
    };
    const contentTypes = fc.option(
      fc.constantFrom(MediaType.OciManifest, MediaType.OciIndex, MediaType.DockerManifest, MediaType.DockerManifestList, "application/json", "x/y"),
      {
        nil: undefined,
      },
    );

    it("random bytes", () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 200 }), contentTypes, (bytes, ct) => check(bytes, ct)),
        { numRuns: 1000 },
      );
    });

    it("random JSON", () => {
      fc.assert(
        fc.property(fc.jsonValue({ stringUnit: "binary" }), contentTypes, (value, ct) => check(encode(JSON.stringify(value)), ct)),
        { numRuns: 1000 },
      );
    });

    // Near misses reach the deep checks: a valid manifest or index with one field replaced.
    const anything = fc.oneof(
      fc.jsonValue({ stringUnit: "binary" }),
      fc.constant(undefined),
      fc.constant(digestOf("a")),
      fc.constant(-1),
      fc.constant(2 ** 60),
    );
    const descriptorish = fc.record({
      mediaType: fc.oneof(fc.constantFrom(MediaType.OciLayerGzip, MediaType.OciManifest, MediaType.DockerLayer, "bogus"), anything),
      digest: fc.oneof(fc.constant(digestOf("d")), anything),
      size: fc.oneof(fc.nat(), anything),
      platform: fc.oneof(
        fc.record({ os: fc.oneof(fc.string({ unit: "binary" }), anything), architecture: fc.oneof(fc.string({ unit: "binary" }), anything) }),
        anything,
      ),
      urls: anything,
      annotations: anything,
    });
    it("manifests and indexes with mutated fields", () => {
      fc.assert(
        fc.property(
          fc.boolean(),
          fc.array(descriptorish, { maxLength: 4 }),
          fc.oneof(descriptorish, anything),
          fc.constantFrom("schemaVersion", "mediaType", "annotations", "subject", "artifactType", "none"),
          anything,
          contentTypes,
          (isIndex, items, config, key, value, ct) => {
            const base: Record<string, unknown> = isIndex ? ociIndex(items) : ociManifest({ layers: items, config });
            if (key !== "none") base[key] = value;
            check(encode(JSON.stringify(base)), ct);
          },
        ),
      );
    });
  });
});
