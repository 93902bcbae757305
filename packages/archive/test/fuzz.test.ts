import { isStoreError } from "@store/errors";
import fc from "fast-check";
import { describe, it } from "vitest";
import { parseDockerManifest } from "../src/docker-manifest";
import { parseOciDocument, parseOciIndex } from "../src/oci-layout";

// Fuzzing (fast-check) of the archive's metadata parsers: manifest.json, index.json and the
// index/manifest blobs of an OCI layout. Any bytes give a value or a typed StoreError.

function typedOrValue(work: () => unknown): void {
  try {
    work();
  } catch (e) {
    if (!isStoreError(e)) throw new Error(`not a StoreError: ${(e as Error)?.stack ?? String(e)}`);
  }
}

const bytes = (v: unknown) => new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v));
const digest = fc.oneof(fc.stringMatching(/^sha256:[0-9a-f]{64}$/), fc.string({ maxLength: 80 }), fc.jsonValue({ maxDepth: 1 }));
/** A key as Go's case-insensitive decoding would still match it, or another. */
const key = (name: string) => fc.constantFrom(name, name.toLowerCase(), name.toUpperCase(), `${name}x`);

const descriptorArb = fc.oneof(
  fc.record(
    {
      mediaType: fc.oneof(
        fc.constantFrom("application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.layer.v1.tar"),
        fc.jsonValue({ maxDepth: 1 }),
      ),
      digest,
      size: fc.oneof(fc.nat(), fc.double(), fc.constant(2 ** 64), fc.string()),
      annotations: fc.oneof(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 })), fc.jsonValue({ maxDepth: 1 })),
      platform: fc.oneof(
        fc.record({ os: fc.jsonValue({ maxDepth: 1 }), architecture: fc.string(), variant: fc.jsonValue({ maxDepth: 1 }) }),
        fc.jsonValue({ maxDepth: 1 }),
      ),
    },
    { requiredKeys: [] },
  ),
  fc.jsonValue({ maxDepth: 2 }),
);

const ociDocArb = fc.record(
  {
    schemaVersion: fc.oneof(fc.constant(2), fc.jsonValue({ maxDepth: 1 })),
    mediaType: fc.oneof(
      fc.constantFrom(
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
      ),
      fc.jsonValue({ maxDepth: 1 }),
    ),
    manifests: fc.oneof(fc.array(descriptorArb, { maxLength: 4 }), fc.jsonValue({ maxDepth: 2 })),
    config: fc.oneof(descriptorArb, fc.constant(null)),
    layers: fc.oneof(fc.array(descriptorArb, { maxLength: 4 }), fc.jsonValue({ maxDepth: 2 })),
  },
  { requiredKeys: [] },
);

const manifestItemArb = fc.oneof(
  fc
    .tuple(
      fc.record({ Config: key("Config"), RepoTags: key("RepoTags"), Layers: key("Layers"), Parent: key("Parent"), LayerSources: key("LayerSources") }),
      fc.record({
        Config: fc.oneof(fc.string({ maxLength: 80 }), fc.jsonValue({ maxDepth: 1 })),
        RepoTags: fc.oneof(fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }), fc.jsonValue({ maxDepth: 2 })),
        Layers: fc.oneof(fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }), fc.jsonValue({ maxDepth: 2 })),
        Parent: fc.jsonValue({ maxDepth: 1 }),
        LayerSources: fc.jsonValue({ maxDepth: 2 }),
      }),
    )
    .map(([keys, values]) => Object.fromEntries(Object.entries(values).map(([k, v]) => [keys[k as keyof typeof keys], v]))),
  fc.jsonValue({ maxDepth: 2 }),
);

describe("fuzzing the archive's metadata parsers", () => {
  it("manifest.json: any bytes, any JSON, entries with fields of any type", () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.jsonValue().map(bytes), fc.array(manifestItemArb, { maxLength: 4 }).map(bytes)), (input) => {
        typedOrValue(() => parseDockerManifest(input));
      }),
      { numRuns: 1000 },
    );
  });

  it("index.json and OCI index/manifest blobs: any bytes, any JSON, documents with fields of any type", () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.jsonValue().map(bytes), ociDocArb.map(bytes)), (input) => {
        typedOrValue(() => parseOciIndex(input));
        typedOrValue(() => parseOciDocument(input, "blobs/sha256/x"));
      }),
      { numRuns: 1000 },
    );
  });

  it("deeply nested JSON is a typed error or a value, not a stack overflow", () => {
    for (const depth of [1_000, 100_000]) {
      const nested = bytes(`${"[".repeat(depth)}${"]".repeat(depth)}`);
      typedOrValue(() => parseDockerManifest(nested));
      typedOrValue(() => parseOciIndex(bytes(`{"manifests":${"[".repeat(depth)}${"]".repeat(depth)}}`)));
    }
  });
});
