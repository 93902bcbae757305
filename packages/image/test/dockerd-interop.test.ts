import { request } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFsBackend } from "@store/backend-fs";
import { parseDigest } from "@store/digest";
import { createOverlay2Driver } from "@store/graphdriver-overlay2";
import { type LayerStore, createLayerStore } from "@store/layer";
import { type DockerdPeer, buildImage, busyboxSkipReason, dockerdSkipReason, importBusyboxBase, startDockerd } from "@store/test-peers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ReferenceStore, createReferenceStore } from "@store/reference";
import { type ImageStore, createImageService, createImageStore } from "../src/index";

const skip = dockerdSkipReason() ?? busyboxSkipReason();

/** GET on the Engine API over dockerd's unix socket. */
function engine<T>(peer: DockerdPeer, path: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: peer.socket, path, method: "GET" }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        if (res.statusCode !== 200) reject(new Error(`GET ${path}: ${res.statusCode} ${body}`));
        else resolve(JSON.parse(body) as T);
      });
    });
    req.on("error", reject);
    req.end();
  });
}

interface EngineSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[] | null;
  RepoDigests: string[] | null;
  Created: number;
  Size: number;
  VirtualSize: number;
  SharedSize: number;
  Labels: Record<string, string> | null;
  Containers: number;
}

// A real dockerd's root opened by our stores while it runs (we only read): what it wrote must
// come back as the same images, lineage, tags and `docker images` rows.
describe.skipIf(skip !== undefined)("a real dockerd's root", () => {
  let peer: DockerdPeer;
  let layers: LayerStore;
  let images: ImageStore;
  let references: ReferenceStore;
  const built: Record<string, string> = {};

  beforeAll(async () => {
    peer = await startDockerd();
    built.base = await importBusyboxBase(peer, "base:1");
    built.app = await buildImage(
      peer,
      "app:1",
      [
        "FROM base:1",
        "RUN echo one > /one && mkdir -p /data && echo data > /data/f",
        'LABEL team="store" tier="test"',
        "RUN rm /etc/motd",
        'CMD ["cat", "/one"]',
      ].join("\n"),
    );
    built.child = await buildImage(peer, "localhost:5000/team/child:2", ["FROM app:1", "RUN echo child > /child", "ENV MODE=child"].join("\n"));
    await peer.docker(["tag", "app:1", "app:latest"]);
    await peer.docker(["tag", "app:1", "other/name:v1"]);
    // an untagged head: built, then its tag moved away
    built.dangling = await buildImage(peer, "moved:1", ["FROM base:1", "RUN echo dangling > /d"].join("\n"));
    await buildImage(peer, "moved:1", ["FROM base:1", "RUN echo replaced > /d"].join("\n"));

    const root = join(peer.root, "image", "overlay2");
    layers = await createLayerStore({ root: peer.root, driver: await createOverlay2Driver({ home: join(peer.root, "overlay2") }) });
    images = await createImageStore({ backend: createFsBackend({ root: join(root, "imagedb") }), layers });
    references = await createReferenceStore({ path: join(root, "repositories.json") });
  }, 300_000);

  afterAll(async () => {
    await images?.close();
    await layers?.close();
    await peer?.stop();
  });

  it("restores every image dockerd has, with the same parents, and nothing to complain about", async () => {
    expect(layers.problems).toEqual([]);
    expect(images.problems).toEqual([]);
    expect(references.problems).toEqual([]);
    const theirs = (await peer.docker(["images", "-a", "-q", "--no-trunc"])).stdout.toString().trim().split("\n");
    expect(images.ids().map(String)).toEqual([...new Set(theirs)].sort());
    for (const id of images.ids()) {
      const parent = (await peer.docker(["image", "inspect", "-f", "{{.Parent}}", id.toString()])).stdout.toString().trim();
      expect(images.getParent(id)?.toString() ?? "", `parent of ${id}`).toBe(parent);
    }
    expect(images.getParent(parseDigest(built.child!))?.toString()).not.toBeUndefined();
  });

  it("reads repositories.json as dockerd wrote it: the same tags", async () => {
    const tags = (await peer.docker(["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}", "--no-trunc"])).stdout
      .toString()
      .trim()
      .split("\n")
      .filter((l) => !l.startsWith("<none>"))
      .sort();
    const ours = images
      .ids()
      .flatMap((id) =>
        references
          .references(id)
          .filter((r) => r.isTagged)
          .map((r) => `${r.familiar} ${id}`),
      )
      .sort();
    expect(ours).toEqual(tags);
  });

  it("lists as /images/json does: Id, ParentId, RepoTags, RepoDigests, Created, Size, Labels", async () => {
    const service = createImageService({ images, references });
    for (const all of [false, true]) {
      const theirs = await engine<EngineSummary[]>(peer, `/images/json${all ? "?all=1" : ""}`);
      const ours = service.list({ all });
      const shape = (rows: (EngineSummary | ReturnType<typeof service.list>[number])[]) =>
        rows
          .map((r) => ({
            Id: r.Id,
            ParentId: r.ParentId,
            RepoTags: [...(r.RepoTags ?? [])].sort(),
            RepoDigests: [...(r.RepoDigests ?? [])].sort(),
            Created: r.Created,
            Size: r.Size,
            VirtualSize: r.VirtualSize,
            Labels: r.Labels,
          }))
          .sort((a, b) => (a.Id < b.Id ? -1 : 1));
      expect(theirs.length).toBeGreaterThanOrEqual(all ? 8 : 5);
      expect(shape(ours), all ? "docker images -a" : "docker images").toEqual(shape(theirs));
    }
  });

  it("matches `docker images --format json` row for row (newest first)", async () => {
    const service = createImageService({ images, references });
    const lines = (await peer.docker(["images", "--no-trunc", "--format", "{{json .}}"])).stdout.toString().trim().split("\n");
    const theirs = lines.map((l) => JSON.parse(l) as { ID: string; Repository: string; Tag: string });
    const ours = service.list().flatMap((r) =>
      r.RepoTags.map((t) => {
        const i = t.lastIndexOf(":");
        return { ID: r.Id, Repository: t.slice(0, i), Tag: t.slice(i + 1) };
      }),
    );
    const key = (r: { ID: string; Repository: string; Tag: string }) => `${r.ID} ${r.Repository}:${r.Tag}`;
    expect(ours.map(key).sort()).toEqual(
      theirs
        .map((r) => ({ ID: r.ID, Repository: r.Repository, Tag: r.Tag }))
        .map(key)
        .sort(),
    );
  });

  it("gives an image the Size dockerd gives it when we register its layers ourselves", async () => {
    // Size is the sum of layerdb `size` over the chain, which the layer store computes as it
    // unpacks: the same tars registered by our layer store must give dockerd's figures.
    const root = await mkdtemp(join(tmpdir(), "image-resize-"));
    const ours = await createLayerStore({ root, driver: await createOverlay2Driver({ home: join(root, "overlay2") }) });
    try {
      const ourImages = await createImageStore({ backend: createFsBackend({ root: join(root, "image", "overlay2", "imagedb") }), layers: ours });
      const id = parseDigest(built.child!);
      const chain: NonNullable<ReturnType<typeof layers.map> extends Map<string, infer L> ? L : never>[] = [];
      for (let l = images.record(id)!.layer; l; l = l.parent) chain.unshift(l);
      let parent;
      const handles = [];
      for (const layer of chain) {
        const { layer: mine } = await ours.register(layer.tarStream(), parent);
        expect(mine.chainId).toEqual(layer.chainId);
        expect(mine.diffSize, `layerdb size of ${layer.chainId}`).toBe(layer.diffSize);
        handles.push(mine);
        parent = mine.chainId;
      }
      await ourImages.create((await images.get(id)).raw);
      for (const h of handles) await ours.release(h);
      const theirs = await engine<EngineSummary[]>(peer, "/images/json");
      const row = createImageService({ images: ourImages, references: await createReferenceStore({ path: join(root, "repositories.json") }) }).list({
        all: true,
      });
      expect(row.map((r) => [r.Id, r.Size])).toEqual([[id.toString(), theirs.find((r) => r.Id === id.toString())!.Size]]);
    } finally {
      await ours.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});
