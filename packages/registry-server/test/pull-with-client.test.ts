import type { StoreBackend } from "@store/backend";
import { createFsBackend } from "@store/backend-fs";
import { createMemoryBackend } from "@store/backend-memory";
import { digestStream } from "@store/digest";
import { MediaType, RegistryClient } from "@store/registry";
import { buildTestImage, buildTestIndex, type TestImage, tempDir } from "@store/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServeFixture, startFixture } from "./serve-fixture";

const backends: [string, () => Promise<{ blobs: StoreBackend; remove: () => Promise<void> }>][] = [
  ["memory", async () => ({ blobs: createMemoryBackend(), remove: async () => undefined })],
  [
    "fs",
    async () => {
      const dir = await tempDir("regsrv-fs-");
      return { blobs: createFsBackend({ root: dir.path }), remove: dir.remove };
    },
  ],
];

// Our own registry client (what `store pull` stands on) against the server: what it resolves,
// fetches and verifies is what the content holds, byte for byte.
describe.each(backends)("pulled with @store/registry's client, over a %s backend", (_, open) => {
  let fixture: ServeFixture;
  let remove: () => Promise<void>;
  let image: TestImage;
  let oci: TestImage;
  const client = new RegistryClient({ credentials: { get: async () => undefined }, retry: { attempts: 1 } });

  beforeAll(async () => {
    const backend = await open();
    remove = backend.remove;
    fixture = await startFixture(backend.blobs);
    image = await buildTestImage([{ "etc/motd": "hello\n" }, { "bin/tool": "x".repeat(200_000) }]);
    oci = await buildTestImage([{ "a.txt": "oci\n" }], { oci: true, architecture: "arm64", variant: "v8" });
    await fixture.addImage("team/app", "1", image);
    // Tagged without a media type: the server reads it from the stored bytes.
    await fixture.addImage("team/app", "oci", oci, { withMediaType: false });
    const index = buildTestIndex(
      [
        { manifest: image.manifest, platform: { os: "linux", architecture: "amd64" } },
        { manifest: oci.manifest, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
      ],
      { oci: true },
    );
    await fixture.addBlob(index, "team/app", "multi", { withMediaType: false });
  });
  afterAll(async () => {
    client.close();
    await fixture?.close();
    await remove?.();
  });

  it("answers /v2/ as a registry does", async () => {
    const res = await fetch(fixture.url("/v2/"));
    expect(res.status).toBe(200);
    expect(res.headers.get("docker-distribution-api-version")).toBe("registry/2.0");
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.text()).toBe("{}");
  });

  it("resolves a tag, fetches the manifest by digest and every blob, each hashing to its descriptor", async () => {
    const repo = client.repository(`${fixture.server.address}/team/app`);
    const desc = await repo.resolve("1");
    expect(desc.digest.toString()).toBe(image.manifest.digest);
    expect(desc.mediaType).toBe(MediaType.DockerManifest);
    expect(desc.size).toBe(image.manifest.size);
    const fetched = await repo.fetchManifest(desc.digest);
    expect(Buffer.from(fetched.bytes).equals(image.manifest.bytes)).toBe(true);
    // The same digest is the same bytes, size included.
    for (const blob of [image.config, ...image.layers]) expect((await digestStream(repo.fetchBlob(blob))).toString()).toBe(blob.digest);
    expect((await repo.statBlob(image.layers[1]!.digest))?.size).toBe(image.layers[1]!.size);
  });

  it("serves a manifest tagged without a media type, and an index, with the type their bytes declare", async () => {
    const repo = client.repository(`${fixture.server.address}/team/app`);
    expect((await repo.resolve("oci")).mediaType).toBe(MediaType.OciManifest);
    const multi = await repo.fetchManifest("multi");
    expect(multi.descriptor.mediaType).toBe(MediaType.OciIndex);
    expect(multi.manifest.kind).toBe("index");
    // An entry of the index, by digest in the same repository.
    const child = await repo.fetchManifest(oci.manifest.digest);
    expect(Buffer.from(child.bytes).equals(oci.manifest.bytes)).toBe(true);
  });

  it("resumes a blob from an offset (a 206 from that byte)", async () => {
    const repo = client.repository(`${fixture.server.address}/team/app`);
    const layer = image.layers[1]!;
    const chunks: Uint8Array[] = [];
    for await (const chunk of repo.fetchBlob(layer, { offset: 100 })) chunks.push(chunk);
    expect(Buffer.concat(chunks).equals(layer.bytes.subarray(100))).toBe(true);
  });

  it("lists tags, all pages", async () => {
    const repo = client.repository(`${fixture.server.address}/team/app`);
    expect(await repo.listTags()).toEqual(["1", "multi", "oci"]);
  });

  it("says MANIFEST_UNKNOWN and BLOB_UNKNOWN as a registry does, which the client reports as not found", async () => {
    const repo = client.repository(`${fixture.server.address}/team/app`);
    await expect(repo.fetchManifest("nope")).rejects.toMatchObject({ code: "ERR_REGISTRY_NOT_FOUND" });
    expect(await repo.statBlob(`sha256:${"0".repeat(64)}`)).toBeUndefined();
  });
});
