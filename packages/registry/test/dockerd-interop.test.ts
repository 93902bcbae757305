import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHasher } from "@store/digest";
import {
  type DockerdPeer,
  type RegistryPeer,
  busyboxSkipReason,
  dockerdSkipReason,
  importBusyboxBase,
  registrySkipReason,
  startDockerd,
  startRegistry,
} from "@store/test-peers";
import { RegistryClient } from "../src/index";

const skip = dockerdSkipReason() ?? registrySkipReason() ?? busyboxSkipReason();

interface ManifestJson {
  mediaType: string;
  config: { digest: string; size: number; mediaType: string };
  layers: { digest: string; size: number; mediaType: string }[];
}

// What dockerd pushes, we pull byte-exact; what we push (blobs copied by stream, a mount, the
// manifest), dockerd pulls and runs.
describe.skipIf(skip !== undefined)("interoperates with dockerd through a real registry", () => {
  let dockerd: DockerdPeer;
  let registry: RegistryPeer;
  const client = new RegistryClient({ credentials: { get: async () => undefined }, retry: { baseDelayMs: 10 } });

  beforeAll(async () => {
    [dockerd, registry] = await Promise.all([startDockerd(), startRegistry()]);
    await importBusyboxBase(dockerd, "base:1");
    await dockerd.docker(["tag", "base:1", `${registry.host}/interop/base:1`]);
    await dockerd.docker(["push", `${registry.host}/interop/base:1`]);
  }, 120_000);
  afterAll(async () => {
    client.close();
    await dockerd?.stop();
    await registry?.stop();
  });

  it("pulls what docker push wrote, every blob hashing to its descriptor", async () => {
    const repo = client.repository(`${registry.host}/interop/base`);
    const desc = await repo.resolve("1");
    expect(desc.mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");
    const pushed = JSON.parse((await dockerd.docker(["image", "inspect", "--format", "{{json .RepoDigests}}", "base:1"])).stdout.toString()) as string[];
    expect(pushed).toContain(`${registry.host}/interop/base@${desc.digest}`);
    const { bytes } = await repo.fetchManifest(desc.digest);
    const manifest = JSON.parse(Buffer.from(bytes).toString()) as ManifestJson;
    for (const blob of [manifest.config, ...manifest.layers]) {
      const hasher = createHasher();
      let size = 0;
      for await (const chunk of repo.fetchBlob(blob)) {
        hasher.update(chunk);
        size += chunk.byteLength;
      }
      expect(hasher.digest().toString()).toBe(blob.digest);
      expect(size).toBe(blob.size);
    }
  });

  it("pushes an image dockerd pulls and runs: layers streamed across, the config mounted", async () => {
    const source = client.repository(`${registry.host}/interop/base`);
    const target = client.repository(`${registry.host}/interop/copy`);
    const { bytes, descriptor } = await source.fetchManifest("1");
    const manifest = JSON.parse(Buffer.from(bytes).toString()) as ManifestJson;
    expect(await target.mountBlob(manifest.config.digest, "interop/base")).toBe(true);
    for (const layer of manifest.layers) {
      expect(await target.statBlob(layer.digest)).toBeUndefined();
      const pushed = await target.pushBlob(source.fetchBlob(layer), { expected: { digest: layer.digest, size: layer.size } });
      expect(pushed.digest.toString()).toBe(layer.digest);
    }
    const digest = await target.pushManifest("2", bytes, descriptor.mediaType);
    expect(digest.toString()).toBe(descriptor.digest.toString());

    // Nothing of the image left in dockerd: the pull downloads every layer from what we pushed.
    await dockerd.docker(["rmi", "base:1", `${registry.host}/interop/base:1`]);
    const pull = await dockerd.docker(["pull", `${registry.host}/interop/copy:2`]);
    expect(pull.stdout.toString()).toContain("Pull complete");
    const run = await dockerd.docker(["run", "--pull", "never", "--rm", "--network", "none", `${registry.host}/interop/copy:2`, "cat", "/etc/motd"]);
    expect(run.stdout.toString()).toBe("welcome\n");
  });
});
