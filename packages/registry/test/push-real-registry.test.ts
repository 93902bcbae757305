import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digestFromBytes } from "@store/digest";
import { type RegistryPeer, registrySkipReason, startRegistry } from "@store/test-peers";
import { RegistryClient, RegistryErrorCode } from "../src/index";
import { type TestImage, chunked, collect, makeImage } from "./registry-fixture";

describe.skipIf(registrySkipReason() !== undefined)("push to a real docker-registry", () => {
  let peer: RegistryPeer;
  let image: TestImage;
  const client = new RegistryClient({ credentials: { get: async () => undefined }, retry: { baseDelayMs: 10 } });

  beforeAll(async () => {
    peer = await startRegistry();
    image = await makeImage({ "p.txt": "push\n" }, 200_000);
  }, 60_000);
  afterAll(async () => {
    client.close();
    await peer?.stop();
  });

  it("pushes blobs (streaming and chunked) and a manifest, then pulls the same bytes back", async () => {
    const repo = client.repository(`${peer.host}/pushed/app`);
    const sent: number[] = [];
    const layer = await repo.pushBlob(chunked(image.layer), {
      expected: { digest: image.layerDigest, size: image.layer.length },
      onBytes: (n) => sent.push(n),
    });
    expect(layer).toEqual({ digest: image.layerDigest, size: image.layer.length });
    expect(sent.at(-1)).toBe(image.layer.length);
    const config = await repo.pushBlob(chunked(image.config, 7), { chunkSize: 50 });
    expect(config.digest.toString()).toBe(image.configDigest.toString());
    const digest = await repo.pushManifest("v1", image.manifest, "application/vnd.oci.image.manifest.v1+json");
    expect(digest.toString()).toBe(image.manifestDigest.toString());

    const resolved = await repo.resolve("v1");
    expect(resolved.digest.toString()).toBe(image.manifestDigest.toString());
    expect(Buffer.from((await repo.fetchManifest(resolved.digest)).bytes).equals(image.manifest)).toBe(true);
    expect((await collect(repo.fetchBlob({ digest: image.layerDigest, size: image.layer.length }))).equals(image.layer)).toBe(true);
    expect((await collect(repo.fetchBlob({ digest: image.configDigest }))).equals(image.config)).toBe(true);
    // By digest too.
    expect((await repo.pushManifest(image.manifestDigest.toString(), image.manifest, "application/vnd.oci.image.manifest.v1+json")).toString()).toBe(
      image.manifestDigest.toString(),
    );
  });

  it("mounts a blob from another repository (201), and says false (upload cancelled) when the source lacks it", async () => {
    const source = client.repository(`${peer.host}/mount/source`);
    await source.pushBlob(chunked(image.layer));
    const target = client.repository(`${peer.host}/mount/target`);
    expect(await target.statBlob(image.layerDigest)).toBeUndefined();
    expect(await target.mountBlob(image.layerDigest, "mount/source")).toBe(true);
    expect(await target.statBlob(image.layerDigest)).toMatchObject({ size: image.layer.length });
    expect(await target.mountBlob(`sha256:${"2".repeat(64)}`, "mount/source")).toBe(false);
  });

  it("refuses an upload that is not what it was expected to be, and leaves nothing behind", async () => {
    const repo = client.repository(`${peer.host}/pushed/bad`);
    const other = digestFromBytes("something else");
    const error = await repo.pushBlob(chunked(image.layer), { expected: { digest: other } }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: RegistryErrorCode.DigestMismatch, kind: "dataLoss" });
    expect(await repo.statBlob(image.layerDigest)).toBeUndefined();
    expect(await repo.statBlob(other)).toBeUndefined();
    // A manifest pushed under a digest it does not hash to is refused before any request.
    await expect(repo.pushManifest(other.toString(), image.manifest, "application/vnd.oci.image.manifest.v1+json")).rejects.toMatchObject({
      code: RegistryErrorCode.DigestMismatch,
    });
    // A manifest naming blobs the repository lacks: the registry's own words.
    const refused = await repo.pushManifest("v1", image.manifest, "application/vnd.oci.image.manifest.v1+json").catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: RegistryErrorCode.Invalid });
    expect((refused as Error).message).toMatch(/^pushing manifest .*: manifest blob unknown: blob unknown to registry/);
  });
});
