import { readFile, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { isStoreError } from "@store/errors";
import { type RegistryPeer, hasRoot, registrySkipReason, startRegistry } from "@store/test-peers";
import { type TestImage, buildTestImage, buildTestIndex, filesUnder, uploadTestBlob, uploadTestImage, uploadTestManifest } from "@store/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ProgressEvent, type StoreService, openStore } from "../src";
import { layerDirs, tempDir } from "./helpers";

// Pull and push through a real registry (Debian's docker-registry) on 127.0.0.1, into a real
// overlay2 root (root needed, as CI runs).
describe.skipIf(!hasRoot() || registrySkipReason() !== undefined)("pull and push with a real registry", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let registry: RegistryPeer;
  let store: StoreService;
  let root: string;
  let base: TestImage;
  let app: TestImage;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    root = join(dir, "root");
    registry = await startRegistry();
    base = await buildTestImage([
      { "bin/": "", "bin/sh": "#!/bin/true\n" },
      { "etc/": "", "etc/motd": "base\n" },
    ]);
    app = await buildTestImage([
      { "bin/": "", "bin/sh": "#!/bin/true\n" },
      { "etc/": "", "etc/motd": "base\n" },
      { "app/": "", "app/main": "x".repeat(2 << 20) },
    ]);
    await uploadTestImage(registry.host, "team/base", "1", base);
    await uploadTestImage(registry.host, "team/app", "1", app);
    store = await openStore({ root });
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await registry?.stop();
    await cleanup?.();
  });

  it("pulls an image: the config's ID, tag and digest reference, distribution metadata, blobs kept, docker's progress", async () => {
    const events: ProgressEvent[] = [];
    const [result] = await store.pull(`${registry.host}/team/base:1`, { onProgress: (e) => events.push(e) });
    expect(result!.id.toString()).toBe(base.config.digest);
    expect(result!.digest.toString()).toBe(base.manifest.digest);
    const inspect = await store.inspect(`${registry.host}/team/base:1`);
    expect(inspect.RepoTags).toEqual([`${registry.host}/team/base:1`]);
    expect(inspect.RepoDigests).toEqual([`${registry.host}/team/base@${base.manifest.digest}`]);
    expect(inspect.RootFS.Layers).toEqual(base.diffIds);
    // dockerd's distribution metadata, as its pull writes it.
    for (const [i, diffId] of base.diffIds.entries()) {
      const meta = await readFile(join(root, "image/overlay2/distribution/v2metadata-by-diffid/sha256", diffId.slice(7)), "utf8");
      expect(JSON.parse(meta)).toEqual([{ Digest: base.layers[i]!.digest, SourceRepository: `${registry.host}/team/base`, HMAC: "" }]);
      const back = await readFile(join(root, "image/overlay2/distribution/diffid-by-digest/sha256", base.layers[i]!.digest.slice(7)), "utf8");
      expect(back).toBe(diffId);
    }
    for (const layer of base.layers) expect(await store.blobs.has(layer.digest)).toBe(true);
    expect(await readdir(join(root, "image/overlay2/partial-downloads")).catch(() => [])).toEqual([]);
    const lines = events.filter((e) => !e.progressDetail || Object.keys(e.progressDetail).length === 0).map((e) => (e.id ? `${e.id}: ${e.status}` : e.status));
    const ids = base.layers.map((l) => l.digest.slice(7, 19));
    expect(lines[0]).toBe("1: Pulling from team/base");
    for (const id of ids) {
      expect(lines).toContain(`${id}: Pulling fs layer`);
      expect(lines.indexOf(`${id}: Download complete`)).toBeLessThan(lines.indexOf(`${id}: Pull complete`));
    }
    expect(lines.slice(-2)).toEqual([`Digest: ${base.manifest.digest}`, `Status: Downloaded newer image for ${registry.host}/team/base:1`]);
  });

  it("fetches nothing of an image it has, and skips the layers it has ('Already exists')", async () => {
    // The image itself is here: nothing is fetched but the manifest (as moby's pull).
    const again: ProgressEvent[] = [];
    await store.pull(`${registry.host}/team/base:1`, { onProgress: (e) => again.push(e) });
    expect(again.map((e) => e.status)).toEqual([
      "Pulling from team/base",
      `Digest: ${base.manifest.digest}`,
      `Status: Image is up to date for ${registry.host}/team/base:1`,
    ]);
    const events: ProgressEvent[] = [];
    const [result] = await store.pull(`${registry.host}/team/app:1`, { onProgress: (e) => events.push(e) });
    expect(result!.id.toString()).toBe(app.config.digest);
    expect(events.filter((e) => e.status === "Already exists").map((e) => e.id)).toEqual(app.layers.slice(0, 2).map((l) => l.digest.slice(7, 19)));
    expect(events.filter((e) => e.status === "Pull complete")).toHaveLength(1);
  });

  it("picks the host's platform from an index, or the one asked for", async () => {
    const arm = await buildTestImage([{ "arm/": "", "arm/x": "arm64\n" }], { architecture: "arm64", oci: true });
    const amd = await buildTestImage([{ "amd/": "", "amd/x": "amd64\n" }], { architecture: "amd64", oci: true });
    for (const image of [arm, amd]) {
      for (const b of [image.config, ...image.layers]) await uploadTestBlob(registry.host, "team/multi", b);
      await uploadTestManifest(registry.host, "team/multi", image.manifest.digest, image.manifest);
    }
    const index = buildTestIndex(
      [
        { manifest: arm.manifest, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
        { manifest: amd.manifest, platform: { os: "linux", architecture: "amd64" } },
      ],
      { oci: true },
    );
    await uploadTestManifest(registry.host, "team/multi", "1", index);
    const [host] = await store.pull(`${registry.host}/team/multi:1`);
    expect(host!.id.toString()).toBe(process.arch === "arm64" ? arm.config.digest : amd.config.digest);
    expect(host!.digest.toString()).toBe(index.digest);
    const [other] = await store.pull(`${registry.host}/team/multi:1`, { platform: { os: "linux", architecture: "arm64" } });
    expect(other!.id.toString()).toBe(arm.config.digest);
    const none = await store.pull(`${registry.host}/team/multi:1`, { platform: { os: "linux", architecture: "s390x" } }).catch((e: unknown) => e);
    expect(String((none as Error).message)).toContain("no matching manifest for linux/s390x");
  });

  it("pulls an image holding one blob twice (two chain positions), downloading it once", async () => {
    const same = { "same/": "", "same/f": "twice\n" };
    const twice = await buildTestImage([same, { "mid/": "", "mid/g": "between\n" }, same]);
    expect(twice.layers[0]!.digest).toBe(twice.layers[2]!.digest);
    await uploadTestImage(registry.host, "team/twice", "1", twice);
    const [result] = await store.pull(`${registry.host}/team/twice:1`);
    expect(result!.id.toString()).toBe(twice.config.digest);
    expect((await store.inspect(`${registry.host}/team/twice:1`)).RootFS.Layers).toEqual(twice.diffIds);
    expect(await readdir(join(root, "image/overlay2/partial-downloads"))).toEqual([]);
  });

  it("pulls again a layer whose driver dir is gone (a damaged root), instead of saying it is up to date", async () => {
    const top = store.layers.map().get(store.images.record(base.config.digest)!.chainId!.toString())!;
    await rm(join(root, "overlay2", top.cacheId), { recursive: true, force: true });
    const events: ProgressEvent[] = [];
    await store.pull(`${registry.host}/team/base:1`, { onProgress: (e) => events.push(e) });
    expect(events.filter((e) => e.status === "Pull complete").map((e) => e.id)).toEqual([base.layers[1]!.digest.slice(7, 19)]);
    const again = store.layers.map().get(store.images.record(base.config.digest)!.chainId!.toString())!;
    expect(await store.layers.driver.exists(again.cacheId)).toBe(true);
  });

  it("pulls every tag of a repository with allTags (docker pull -a), refusing a name with a tag", async () => {
    await uploadTestManifest(registry.host, "team/base", "2", base.manifest);
    const events: ProgressEvent[] = [];
    const results = await store.pull(`${registry.host}/team/base`, { allTags: true, onProgress: (e) => events.push(e) });
    expect(results.map((r) => r.reference.tag).sort()).toEqual(["1", "2"]);
    expect((await store.inspect(`${registry.host}/team/base:2`)).Id).toBe(base.config.digest);
    expect(events.filter((e) => e.status.startsWith("Status:")).map((e) => e.status)).toEqual([
      `Status: Downloaded newer image for ${registry.host}/team/base`,
    ]);
    const error = await store.pull(`${registry.host}/team/base:1`, { allTags: true }).catch((e: unknown) => e);
    expect((error as Error).message).toBe("tag can't be used with --all-tags/-a");
  });

  it("refuses what a hostile registry serves and leaves the root as it was", async () => {
    // The config's diff_ids name other layers than the manifest's blobs.
    const liar = await buildTestImage([{ "x/": "", "x/y": "one\n" }]);
    const other = await buildTestImage([{ "x/": "", "x/y": "two\n" }]);
    await uploadTestBlob(registry.host, "team/liar", other.config);
    for (const b of liar.layers) await uploadTestBlob(registry.host, "team/liar", b);
    const forged = JSON.parse(liar.manifest.bytes.toString());
    forged.config = { mediaType: other.config.mediaType, digest: other.config.digest, size: other.config.size };
    const bytes = Buffer.from(JSON.stringify(forged));
    const { createHash } = await import("node:crypto");
    await uploadTestManifest(registry.host, "team/liar", "1", {
      mediaType: liar.manifest.mediaType,
      bytes,
      size: bytes.length,
      digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}`,
    });
    const before = await filesUnder(join(root, "image"));
    const dirs = await layerDirs(root);
    const error = await store.pull(`${registry.host}/team/liar:1`).catch((e: unknown) => e);
    expect(isStoreError(error), String(error)).toBe(true);
    expect((error as { kind: string }).kind).toBe("dataLoss");
    expect((await filesUnder(join(root, "image"))).filter((p) => !p.startsWith("overlay2/partial-downloads"))).toEqual(before);
    expect(await layerDirs(root)).toEqual(dirs);
    expect(() => store.resolve(`${registry.host}/team/liar:1`)).toThrow();
  });

  it("says what is missing: an unknown tag or repository", async () => {
    const error = await store.pull(`${registry.host}/team/base:nope`).catch((e: unknown) => e);
    expect(isStoreError(error), String(error)).toBe(true);
    expect((error as Error).message).toContain("manifest unknown");
  });

  it("pushes an image to another repository: mounts what the registry has, and a pull from there gives the same image", async () => {
    const events: ProgressEvent[] = [];
    const result = await store.push(`${registry.host}/team/base:1`, { onProgress: (e) => events.push(e) });
    expect(events.filter((e) => e.status === "Layer already exists")).toHaveLength(2);
    expect(result.tag).toBe("1");
    await store.tag(`${registry.host}/team/app:1`, `${registry.host}/copy/app:2`);
    const copied: ProgressEvent[] = [];
    const pushed = await store.push(`${registry.host}/copy/app:2`, { onProgress: (e) => copied.push(e) });
    expect(copied.filter((e) => e.status.startsWith("Mounted from"))).toHaveLength(3);
    const manifest = await fetch(`http://${registry.host}/v2/copy/app/manifests/2`, {
      headers: { accept: "application/vnd.docker.distribution.manifest.v2+json" },
    });
    expect(manifest.headers.get("docker-content-digest")).toBe(pushed.digest.toString());
    const body = (await manifest.json()) as { config: { digest: string }; layers: { digest: string }[] };
    expect(body.config.digest).toBe(app.config.digest);
    expect(body.layers.map((l) => l.digest)).toEqual(app.layers.map((l) => l.digest));
    const inspect = await store.inspect(`${registry.host}/copy/app:2`);
    expect(inspect.RepoDigests).toContain(`${registry.host}/copy/app@${pushed.digest}`);
  });

  it("pushes an image pulled as OCI with an OCI manifest, one pulled as Docker schema2 with schema2", async () => {
    await store.pull(`${registry.host}/team/multi:1`);
    await store.tag(`${registry.host}/team/multi:1`, `${registry.host}/copy/multi:1`);
    await store.push(`${registry.host}/copy/multi:1`);
    const accept = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
    const oci = await fetch(`http://${registry.host}/v2/copy/multi/manifests/1`, { headers: { accept } });
    expect(oci.headers.get("content-type")).toBe("application/vnd.oci.image.manifest.v1+json");
    const docker = await fetch(`http://${registry.host}/v2/copy/app/manifests/2`, { headers: { accept } });
    expect(docker.headers.get("content-type")).toBe("application/vnd.docker.distribution.manifest.v2+json");
  });
});
