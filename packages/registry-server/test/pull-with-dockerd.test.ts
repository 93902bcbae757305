import { execFile } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { createFsBackend } from "@store/backend-fs";
import { type DockerdPeer, dockerdSkipReason, skopeoCopy, skopeoSkipReason, startDockerd, which } from "@store/test-peers";
import { buildTestImage, buildTestIndex, type TestImage, tempDir } from "@store/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServeFixture, startFixture } from "./serve-fixture";

const run = promisify(execFile);

interface Inspected {
  Id: string;
  RepoDigests: string[];
  RepoTags: string[];
  RootFS: { Layers: string[] };
  Architecture: string;
}

// A stock dockerd pulls from the server by name, as it would from a registry: the image it
// stores is the one the content holds (config digest = image ID, diff IDs = layers).
describe.skipIf(dockerdSkipReason() !== undefined)("pulled by a real dockerd", () => {
  let dockerd: DockerdPeer;
  let fixture: ServeFixture;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let image: TestImage;
  let arm: TestImage;
  let addr: string;
  const inspect = async (ref: string) => (JSON.parse((await dockerd.docker(["image", "inspect", ref])).stdout.toString()) as Inspected[])[0]!;

  beforeAll(async () => {
    dir = await tempDir("regsrv-dockerd-");
    [dockerd, fixture] = await Promise.all([startDockerd(), startFixture(createFsBackend({ root: dir.path }))]);
    addr = fixture.server.address;
    image = await buildTestImage([{ "etc/motd": "served by registry-server\n" }, { "usr/share/data.bin": "d".repeat(300_000) }]);
    arm = await buildTestImage([{ "etc/arch": "arm64\n" }], { architecture: "arm64", variant: "v8" });
    await fixture.addImage("team/app", "1", image);
    await fixture.addImage("team/app", "arm", arm);
    const index = buildTestIndex([
      { manifest: arm.manifest, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
      { manifest: image.manifest, platform: { os: "linux", architecture: "amd64" } },
    ]);
    // Tagged without a media type: dockerd needs the list's own type as Content-Type to read it.
    // As `multi`, not `library/multi`: dockerd adds `library/` for Docker Hub only, so a content
    // keyed by normalised names maps the repository itself.
    await fixture.addBlob(index, "multi", "latest", { withMediaType: false });
  }, 120_000);
  afterAll(async () => {
    await dockerd?.stop();
    await fixture?.close();
    await dir?.remove();
  });

  it("docker pull ADDR/name:tag stores the image the content holds", async () => {
    const pull = await dockerd.docker(["pull", `${addr}/team/app:1`]);
    expect(pull.stdout.toString()).toContain(`Digest: ${image.manifest.digest}`);
    const got = await inspect(`${addr}/team/app:1`);
    expect(got.Id).toBe(image.config.digest);
    expect(got.RootFS.Layers).toEqual(image.diffIds);
    expect(got.RepoDigests).toEqual([`${addr}/team/app@${image.manifest.digest}`]);
    // dockerd fetched every blob from us, each whole.
    for (const blob of [image.config, ...image.layers]) {
      expect(fixture.records.some((r) => r.method === "GET" && r.url.endsWith(`/blobs/${blob.digest}`) && r.status === 200 && r.bytes === blob.size)).toBe(
        true,
      );
    }
  });

  it("pulls by digest, and picks its platform from a manifest list", async () => {
    await dockerd.docker(["pull", `${addr}/team/app@${arm.manifest.digest}`]);
    expect((await inspect(`${addr}/team/app@${arm.manifest.digest}`)).Architecture).toBe("arm64");
    await dockerd.docker(["pull", `${addr}/multi`]);
    const multi = await inspect(`${addr}/multi:latest`);
    expect(multi.Id).toBe(image.config.digest);
  });

  it("fails a pull of what is not there with the registry's 'manifest unknown'", async () => {
    const r = await dockerd.docker(["pull", `${addr}/team/app:nope`], undefined, { allowFailure: true });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/manifest unknown/);
  });

  it("refuses a docker push cleanly (read-only), storing nothing", async () => {
    const before = await readdir(join(dir.path, "content", "sha256"));
    await dockerd.docker(["tag", `${addr}/team/app:1`, `${addr}/team/other:1`]);
    const r = await dockerd.docker(["push", `${addr}/team/other:1`], undefined, { allowFailure: true });
    expect(r.code).not.toBe(0);
    expect(r.stderr + r.stdout.toString()).toMatch(/unsupported/i);
    expect(await readdir(join(dir.path, "content", "sha256"))).toEqual(before);
    expect(fixture.tags.has("team/other")).toBe(false);
  });

  it.skipIf(!which("ctr"))("is pulled from by containerd (dockerd's own, through ctr)", async () => {
    const ctr = (...args: string[]) =>
      run("ctr", ["--address", join(dockerd.execRoot, "containerd", "containerd.sock"), "--namespace", "regsrv-test", ...args], {
        env: { ...dockerd.env, HTTP_PROXY: "http://127.0.0.1:9", HTTPS_PROXY: "http://127.0.0.1:9", NO_PROXY: "127.0.0.1,localhost" },
      });
    const ref = `${addr}/multi:latest`;
    await ctr("content", "fetch", "--plain-http", "--platform", "linux/amd64", ref);
    const images = (await ctr("images", "ls")).stdout;
    expect(images).toContain(ref);
    const content = (await ctr("content", "ls", "-q")).stdout;
    for (const blob of [image.config, ...image.layers, image.manifest]) expect(content).toContain(blob.digest);
    // containerd resolves with HEAD by tag, then fetches by digest.
    expect(fixture.records.some((r) => r.method === "HEAD" && r.url === "/v2/multi/manifests/latest" && r.status === 200)).toBe(true);
  });

  it.skipIf(skopeoSkipReason() !== undefined)("is copied from by skopeo (containers/image, as podman pulls)", async () => {
    const out = await tempDir("regsrv-skopeo-");
    try {
      await skopeoCopy(`docker://${addr}/team/app:1`, `dir:${out.path}`);
      const files = await readdir(out.path);
      for (const blob of [image.config, ...image.layers]) expect(files).toContain(blob.digest.slice("sha256:".length));
    } finally {
      await out.remove();
    }
  });
});
