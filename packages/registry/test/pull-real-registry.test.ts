import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RegistryPeer, registrySkipReason, startRegistry, which } from "@store/test-peers";
import { tempDir } from "@store/test-support";
import { RegistryClient, RegistryError, RegistryErrorCode } from "../src/index";
import { type TestImage, collect, makeImage, skopeoPush } from "./registry-fixture";

const skip = registrySkipReason() ?? (which("skopeo") ? undefined : "no skopeo");

describe.skipIf(skip !== undefined)("pull from a real docker-registry (anonymous)", () => {
  let peer: RegistryPeer;
  let image: TestImage;
  const client = new RegistryClient({ credentials: { get: async () => undefined }, retry: { baseDelayMs: 10 } });

  beforeAll(async () => {
    peer = await startRegistry();
    image = await makeImage({ "a.txt": "a\n" }, 300_000);
    const dir = await tempDir();
    try {
      await skopeoPush(image, dir.path, `${peer.host}/test/app:v1`);
    } finally {
      await dir.remove();
    }
  }, 60_000);
  afterAll(async () => {
    client.close();
    await peer?.stop();
  });

  it("resolves a tag with HEAD to the manifest's digest, type and size", async () => {
    const repo = client.repository(`${peer.host}/test/app`);
    expect(repo.host).toBe(peer.host);
    expect(repo.name).toBe("test/app");
    const desc = await repo.resolve("v1");
    expect(desc.digest.toString()).toBe(image.manifestDigest.toString());
    expect(desc.mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
    expect(desc.size).toBe(image.manifest.length);
  });

  it("fetches a manifest by digest and by tag, verified, with its exact bytes", async () => {
    const repo = client.repository(`${peer.host}/test/app:ignored`);
    const byDigest = await repo.fetchManifest(image.manifestDigest);
    expect(Buffer.from(byDigest.bytes).equals(image.manifest)).toBe(true);
    expect(byDigest.descriptor.digest.toString()).toBe(image.manifestDigest.toString());
    const byTag = await repo.fetchManifest("v1");
    expect(byTag.descriptor).toEqual(byDigest.descriptor);
  });

  it("streams a blob, whole and from an offset", async () => {
    const repo = client.repository(`${peer.host}/test/app`);
    const whole = await collect(repo.fetchBlob({ digest: image.layerDigest, size: image.layer.length }));
    expect(whole.equals(image.layer)).toBe(true);
    const tail = await collect(repo.fetchBlob({ digest: image.layerDigest, size: image.layer.length }, { offset: 1000 }));
    expect(tail.equals(image.layer.subarray(1000))).toBe(true);
    const config = await collect(repo.fetchBlob({ digest: image.configDigest.toString() }));
    expect(config.equals(image.config)).toBe(true);
  });

  it("stats blobs: a descriptor when present, undefined when not", async () => {
    const repo = client.repository(`${peer.host}/test/app`);
    expect(await repo.statBlob(image.layerDigest)).toMatchObject({ size: image.layer.length });
    expect(await repo.statBlob(`sha256:${"0".repeat(64)}`)).toBeUndefined();
  });

  it("says what docker says for a missing tag, a missing repository and a missing blob", async () => {
    const repo = client.repository(`${peer.host}/test/app`);
    const missing = await repo.fetchManifest("nope").catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(RegistryError);
    expect((missing as RegistryError).code).toBe(RegistryErrorCode.NotFound);
    expect((missing as RegistryError).kind).toBe("notFound");
    expect((missing as Error).message).toBe(`manifest for ${peer.host}/test/app:nope not found: manifest unknown: manifest unknown`);
    expect((missing as RegistryError).registryErrors[0]).toMatchObject({ code: "MANIFEST_UNKNOWN", message: "manifest unknown" });
    const resolved = await repo.resolve("nope").catch((e: unknown) => e);
    expect((resolved as Error).message).toBe(`manifest for ${peer.host}/test/app:nope not found: manifest unknown: manifest unknown`);

    const other = client.repository(`${peer.host}/nothing/here`);
    await expect(other.resolve("latest")).rejects.toMatchObject({ code: RegistryErrorCode.NotFound });
    const blob = await collect(repo.fetchBlob({ digest: `sha256:${"1".repeat(64)}` })).catch((e: unknown) => e);
    expect(blob).toMatchObject({ code: RegistryErrorCode.NotFound });
    expect((blob as Error).message).toMatch(/^blob unknown: blob unknown to registry/);
  });

  it("refuses bad input with one clear line before any request", async () => {
    const repo = client.repository(`${peer.host}/test/app`);
    await expect(repo.fetchManifest("bad tag\n")).rejects.toMatchObject({ code: RegistryErrorCode.Invalid, message: 'invalid tag "bad tag\\n"' });
    await expect(repo.fetchManifest("sha256:xyz")).rejects.toMatchObject({ code: RegistryErrorCode.Invalid });
    expect(() => client.repository("host/Upper")).toThrow(RegistryError);
    expect(() => repo.fetchBlob({ digest: "nope" })).toThrow(/invalid digest/);
    // The image is still there, untouched.
    expect((await repo.resolve("v1")).digest.toString()).toBe(image.manifestDigest.toString());
  });
});
