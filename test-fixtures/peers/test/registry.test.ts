import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type RegistryPeer, pushArchiveToRegistry, registrySkipReason, skopeoCopy, skopeoSkipReason, startRegistry, writeDockerArchive } from "../src/index";

const skip = registrySkipReason() ?? skopeoSkipReason();

describe.skipIf(skip)("startRegistry (plain HTTP) and pushArchiveToRegistry", () => {
  let registry: RegistryPeer;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "registry-test-"));
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("an archive pushed with skopeo comes back with the same config", async () => {
    const archive = join(dir, "two-layers.tar");
    const written = await writeDockerArchive(archive, "two:1", [{ "a.txt": "a\n" }, { "dir/b.txt": "b\n" }]);
    await pushArchiveToRegistry(archive, `${registry.host}/two:1`);

    const manifest = (await (
      await fetch(`${registry.url}/v2/two/manifests/1`, { headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json" } })
    ).json()) as { mediaType: string; config: { digest: string }; layers: unknown[] };
    expect(manifest.mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");
    expect(manifest.config.digest).toBe(written.id);
    expect(manifest.layers).toHaveLength(2);

    const out = join(dir, "pulled");
    await skopeoCopy(`docker://${registry.host}/two:1`, `dir:${out}`);
    expect(JSON.parse(await readFile(join(out, written.id.slice(7)), "utf8")).rootfs.diff_ids).toEqual(written.diffIds);
  });

  test("stop() removes the storage and is safe to call twice", async () => {
    const other = await startRegistry();
    const log = await other.log();
    expect(typeof log).toBe("string");
    await other.stop();
    await other.stop();
    await expect(fetch(`${other.url}/v2/`)).rejects.toThrow();
  });

  test("bad input: a registry that is not on loopback is refused with one line, nothing pushed", async () => {
    const archive = join(dir, "refused.tar");
    await writeDockerArchive(archive, "refused:1", [{ f: "x" }]);
    await expect(pushArchiveToRegistry(archive, "registry.example.com/refused:1")).rejects.toThrow(
      /^skopeoCopy: refusing docker:\/\/registry.example.com\/refused:1: only loopback/,
    );
    await expect(startRegistry({ htpasswd: { users: {} }, token: {} as never })).rejects.toThrow("startRegistry: htpasswd and token auth exclude each other");
    expect(existsSync(archive)).toBe(true);
  });
});
