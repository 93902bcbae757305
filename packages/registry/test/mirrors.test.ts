import { type RegistryPeer, registrySkipReason, startRegistry } from "@store/test-peers";
import { type TestImage, buildTestImage, uploadTestImage } from "@store/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryClient, RegistryErrorCode } from "../src/index";

// Docker Hub names read through mirrors (dockerd's --registry-mirror), on loopback only: every
// read here is answered by a mirror, so nothing ever reaches Docker Hub.
describe.skipIf(registrySkipReason() !== undefined)("registry mirrors", () => {
  let empty: RegistryPeer;
  let full: RegistryPeer;
  let image: TestImage;
  const clients: RegistryClient[] = [];
  const client = (mirrors: string[]) => {
    const c = new RegistryClient({ mirrors, credentials: { get: async () => undefined } });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    [empty, full] = await Promise.all([startRegistry(), startRegistry()]);
    image = await buildTestImage([{ "m/": "", "m/f": "from the mirror\n" }]);
    await uploadTestImage(full.host, "library/busybox", "latest", image);
  }, 60_000);
  afterAll(async () => {
    for (const c of clients) c.close();
    await empty?.stop();
    await full?.stop();
  });

  it("reads a Docker Hub image from the first mirror that has it, in order", async () => {
    const repo = client([`http://${empty.host}`, `http://${full.host}`]).repository("busybox");
    expect(repo.host).toBe("registry-1.docker.io");
    const descriptor = await repo.resolve("latest");
    expect(descriptor.digest.toString()).toBe(image.manifest.digest);
    const fetched = await repo.fetchManifest(descriptor.digest);
    expect(fetched.manifest.kind).toBe("manifest");
    const chunks: Uint8Array[] = [];
    for await (const c of repo.fetchBlob(image.layers[0]!)) chunks.push(c);
    expect(Buffer.concat(chunks).equals(image.layers[0]!.bytes)).toBe(true);
    expect(await repo.listTags()).toEqual(["latest"]);
  });

  it("leaves other registries alone, and refuses a mirror URL with a path", async () => {
    const repo = client([`http://${full.host}`]).repository(`${empty.host}/library/busybox`);
    const error = await repo.resolve("latest").catch((e: unknown) => e);
    expect(error).toMatchObject({ code: RegistryErrorCode.NotFound });
    expect(() => new RegistryClient({ mirrors: ["https://mirror.example/v2/"] })).toThrow(/without a path/);
  });
});
