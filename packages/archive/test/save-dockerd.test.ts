import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DockerdPeer, busyboxSkipReason, dockerdSkipReason, startDockerd, which } from "@store/test-peers";
import { loadArchive, saveArchive } from "../src/index";
import { type Fixture, buildFixture } from "./dockerd-fixture";
import { type TempStores, chunked, collect, tempStores } from "./helpers";
import { archive } from "./synthetic";

const skip = dockerdSkipReason() ?? busyboxSkipReason();

/** name → content of each regular file in a tar (symlinks as "-> target"). */
function tarFiles(tar: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let off = 0;
  while (off + 512 <= tar.length) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const name = h.subarray(0, 100).toString("latin1").replace(/\0.*$/s, "");
    const size = parseInt(h.subarray(124, 136).toString("latin1").replace(/\0.*$/s, "").trim() || "0", 8);
    const type = String.fromCharCode(h[156]!);
    const link = h.subarray(157, 257).toString("latin1").replace(/\0.*$/s, "");
    if (type === "0") out.set(name, tar.subarray(off + 512, off + 512 + size));
    if (type === "2") out.set(name, Buffer.from(`-> ${link}`));
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

describe.skipIf(skip !== undefined)("saving for a real dockerd", () => {
  let peer: DockerdPeer;
  let fixture: Fixture;
  let stores: TempStores;
  let dockerSavedLayered: Buffer;
  let dir: string;

  beforeAll(async () => {
    peer = await startDockerd();
    fixture = await buildFixture(peer);
    dir = await mkdtemp(join(tmpdir(), "archive-save-"));
    dockerSavedLayered = (await peer.docker(["save", "layered:1"])).stdout;
    stores = await tempStores();
    await loadArchive(chunked((await peer.docker(["save", "layered:1", "base:1"])).stdout), stores);
  }, 300_000);

  afterAll(async () => {
    await stores?.cleanup();
    await peer?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("writes the bytes docker save writes, layer.tar for layer.tar and as a whole", async () => {
    const ours = await collect(saveArchive(["layered:1"], stores));
    const theirs = tarFiles(dockerSavedLayered);
    const mine = tarFiles(ours);
    expect([...mine.keys()]).toEqual([...theirs.keys()]);
    for (const [name, content] of theirs) {
      expect(mine.get(name)?.equals(content), `${name} identical`).toBe(true);
    }
    const layerTars = [...theirs.keys()].filter((n) => n.endsWith("/layer.tar"));
    expect(layerTars.length).toBe(3);
    expect(ours.equals(dockerSavedLayered)).toBe(true);
  });

  it("gives identical bytes run after run", async () => {
    const a = await collect(saveArchive(["layered:1", "base:1"], stores));
    const b = await collect(saveArchive(["layered:1", "base:1"], stores));
    expect(a.equals(b)).toBe(true);
  });

  it("round trips through docker load: same IDs, tags and diff IDs", async () => {
    const before = JSON.parse((await peer.docker(["image", "inspect", "layered:1", "base:1"])).stdout.toString());
    const archive = await collect(saveArchive(["layered:1", "base:1"], stores));
    await peer.docker(["rmi", "layered:1", "base:1"]);
    const out = (await peer.docker(["load"], archive)).stdout.toString();
    expect(out).toContain("Loaded image: layered:1");
    expect(out).toContain("Loaded image: base:1");
    const after = JSON.parse((await peer.docker(["image", "inspect", "layered:1", "base:1"])).stdout.toString());
    for (let i = 0; i < 2; i++) {
      expect(after[i].Id).toBe(before[i].Id);
      expect(after[i].RootFS.Layers).toEqual(before[i].RootFS.Layers);
    }
    expect(after.map((x: { Id: string }) => x.Id).sort()).toEqual([fixture.base, fixture.layered].sort());
    // dockerd can run what we saved.
    const run = await peer.docker(["run", "--rm", "--network", "none", "layered:1", "sh", "-c", "cat /data/sub/g /data/keep/k; ls /data/sub"]);
    expect(run.stdout.toString()).toBe("two\nchanged\ng\n");
  });

  it("writes an OCI layout that loads back with the same IDs and tags", async () => {
    const oci = await collect(saveArchive(["layered:1"], stores, { format: "oci" }));
    const names = [...tarFiles(oci).keys()];
    expect(names.slice(0, 2)).toEqual(["oci-layout", "index.json"]);
    const index = JSON.parse(tarFiles(oci).get("index.json")!.toString());
    expect(index.manifests[0].annotations["org.opencontainers.image.ref.name"]).toBe("1");
    const fresh = await tempStores();
    try {
      const result = await loadArchive(chunked(oci), fresh);
      expect(result.format).toBe("oci");
      expect(result.images.map((i) => [i.id.toString(), i.tags])).toEqual([[fixture.layered, ["layered:1"]]]);
      // and our save from there is still docker's bytes
      expect((await collect(saveArchive(["layered:1"], fresh))).equals(dockerSavedLayered)).toBe(true);
    } finally {
      await fresh.cleanup();
    }
  });

  it("loads Docker 25+'s layout: blobs named by digest in sorted order, manifest.json pointing into them", async () => {
    // Docker 25+ writes the OCI layout plus a manifest.json whose paths point into blobs/,
    // every entry in walk order (blobs first): built here from our OCI output.
    const oci = tarFiles(await collect(saveArchive(["layered:1"], stores, { format: "oci" })));
    const inspect = JSON.parse((await peer.docker(["image", "inspect", "layered:1"])).stdout.toString())[0];
    const manifest = [
      {
        Config: `blobs/sha256/${fixture.layered.slice(7)}`,
        RepoTags: ["layered:1"],
        Layers: (inspect.RootFS.Layers as string[]).map((d) => `blobs/sha256/${d.slice(7)}`),
      },
    ];
    const files = [...oci.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, body]) => ({ name, body }));
    files.splice(
      files.findIndex((f) => f.name === "oci-layout"),
      0,
      { name: "manifest.json", body: Buffer.from(JSON.stringify(manifest)) },
    );
    const fresh = await tempStores();
    try {
      const result = await loadArchive(chunked(await archive(files)), fresh);
      expect(result.format).toBe("docker-archive");
      expect(result.images.map((i) => [i.id.toString(), i.tags])).toEqual([[fixture.layered, ["layered:1"]]]);
      // A second load finds every layer by its blob name and reads none.
      const again = await loadArchive(chunked(await archive(files)), fresh);
      expect(again.images[0]!.id.toString()).toBe(fixture.layered);
    } finally {
      await fresh.cleanup();
    }
  });

  it.skipIf(!which("skopeo"))("loads what skopeo writes: oci-archive (plain, gzip and zstd layers), docker-archive", async () => {
    const src = join(dir, "docker.tar");
    await writeFile(src, dockerSavedLayered);
    const diffIds = JSON.parse((await peer.docker(["image", "inspect", "layered:1"])).stdout.toString())[0].RootFS.Layers;
    const cases: Array<[string, string, string[]]> = [
      ["oci-archive", `oci-archive:${join(dir, "sk-oci.tar")}:layered:1`, []],
      ["oci-archive gzip layers", `oci-archive:${join(dir, "sk-oci-gz.tar")}:layered:1`, ["--dest-compress"]],
      ["oci-archive zstd layers", `oci-archive:${join(dir, "sk-oci-zst.tar")}:layered:1`, ["--dest-compress", "--dest-compress-format", "zstd"]],
      ["docker-archive", `docker-archive:${join(dir, "sk-docker.tar")}:layered:1`, []],
    ];
    for (const [kind, dest, flags] of cases) {
      execFileSync("skopeo", ["copy", "--quiet", ...flags, `docker-archive:${src}`, dest], { stdio: "pipe" });
      const file = dest.split(":")[1]!;
      const fresh = await tempStores();
      try {
        const result = await loadArchive(chunked(await readFile(file)), fresh);
        expect(result.images.length, kind).toBe(1);
        expect(result.images[0]!.tags, kind).toEqual(["layered:1"]);
        const loaded = await fresh.images.get(result.images[0]!.id);
        expect(loaded.rootFS.diffIds.map(String), kind).toEqual(diffIds);
        // skopeo keeps a docker-archive's config as it is; converting to OCI rewrites it (new ID).
        if (kind === "docker-archive") expect(result.images[0]!.id.toString()).toBe(fixture.layered);
      } finally {
        await fresh.cleanup();
      }
    }
  });
});
