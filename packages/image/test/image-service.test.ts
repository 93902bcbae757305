import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { contentKey, createBackend } from "@store/backend";
import { createMemoryBackend, createMemoryDriver } from "@store/backend-memory";
import { type Digest, chainId, digestFromString } from "@store/digest";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ContainerInfo, type ImageService, ImageErrorCode, createImageService, createImageStore, formatGoTime } from "../src/index";
import { ReferenceErrorCode, createReferenceStore } from "@store/reference";
import { config, diff } from "./support/configs";
import { FakeLayerStore } from "../src/conformance/index";

let dir: string;
let layers: FakeLayerStore;
let svc: ImageService;
let containers: ContainerInfo[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "imgsvc-"));
  layers = new FakeLayerStore();
  containers = [];
  const images = await createImageStore({ backend: createMemoryBackend(), layers });
  const references = await createReferenceStore({ path: join(dir, "repositories.json") });
  svc = createImageService({ images, references, containers: () => containers });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** base (tagged) ← mid (untagged, intermediate) ← app (tagged); lone (untagged head). */
async function lineage() {
  layers.add([diff("base"), diff("mid"), diff("app")], [1000, 200, 30]);
  layers.add([diff("lone")], [5]);
  const base = await svc.images.create(config({ diffIds: [diff("base")], created: "2024-01-01T00:00:00Z", labels: { tier: "os" } }));
  const mid = await svc.images.create(
    config({ diffIds: [diff("base"), diff("mid")], created: "2024-01-02T00:00:00.5Z", history: [{ created_by: "a" }, { created_by: "b" }] }),
  );
  const app = await svc.images.create(
    config({
      diffIds: [diff("base"), diff("mid"), diff("app")],
      created: "2024-01-03T00:00:00Z",
      labels: { tier: "web", owner: "me" },
      history: [
        { created: "2024-01-01T00:00:00Z", created_by: "ADD base" },
        { created: "2024-01-02T00:00:00Z", created_by: "RUN mid" },
        { created: "2024-01-02T12:00:00Z", created_by: "ENV x=1", empty_layer: true },
        { created: "2024-01-03T00:00:00Z", created_by: "RUN app", comment: "the app" },
      ],
    }),
  );
  const lone = await svc.images.create(config({ diffIds: [diff("lone")], created: "2023-06-01T00:00:00Z" }));
  await svc.images.setParent(mid, base);
  await svc.images.setParent(app, mid);
  await svc.tag(base.toString(), "base:1");
  await svc.tag(app.toString(), "app:1");
  await svc.tag(app.toString(), "localhost:5000/team/app:1");
  return { base, mid, app, lone };
}

const ids = (rows: { Id: string }[]) => rows.map((r) => r.Id);

describe("image service: list", () => {
  it("lists newest first, hides intermediate images unless all, shows <none> for untagged heads", async () => {
    const { base, mid, app, lone } = await lineage();
    const rows = svc.list();
    expect(ids(rows)).toEqual([app, base, lone].map(String));
    expect(rows[0]).toEqual({
      Containers: -1,
      Created: Date.parse("2024-01-03T00:00:00Z") / 1000,
      Id: app.toString(),
      Labels: { tier: "web", owner: "me" },
      ParentId: mid.toString(),
      RepoDigests: [],
      RepoTags: ["app:1", "localhost:5000/team/app:1"],
      SharedSize: -1,
      Size: 1230,
      VirtualSize: 1230,
    });
    expect(rows[2]).toMatchObject({ RepoTags: ["<none>:<none>"], RepoDigests: ["<none>@<none>"], Labels: null, ParentId: "" });
    expect(ids(svc.list({ all: true }))).toEqual([app, mid, base, lone].map(String));
  });

  it("filters dangling, labels, before/since and references", async () => {
    const { base, app, lone } = await lineage();
    expect(ids(svc.list({ filters: { dangling: ["true"] } }))).toEqual([lone.toString()]);
    expect(ids(svc.list({ filters: { dangling: { false: true } } }))).toEqual([app, base].map(String));
    expect(ids(svc.list({ filters: { label: ["tier"] } }))).toEqual([app, base].map(String));
    expect(ids(svc.list({ filters: { label: ["tier=web", "owner"] } }))).toEqual([app.toString()]);
    expect(ids(svc.list({ filters: { label: ["tier=db"] } }))).toEqual([]);
    expect(ids(svc.list({ filters: { before: ["app:1"] } }))).toEqual([base, lone].map(String));
    expect(ids(svc.list({ filters: { since: ["base:1"] } }))).toEqual([app.toString()]);
    expect(ids(svc.list({ filters: { since: [lone.encoded.slice(0, 12)], before: ["app:1"] } }))).toEqual([base.toString()]);
    const byRef = svc.list({ filters: { reference: ["app*"] } });
    expect(byRef.map((r) => r.RepoTags)).toEqual([["app:1"]]);
    expect(svc.list({ filters: { reference: ["localhost:5000/*/*"] } }).map((r) => r.RepoTags)).toEqual([["localhost:5000/team/app:1"]]);
    expect(() => svc.list({ filters: { color: ["red"] } })).toThrow(expect.objectContaining({ code: ImageErrorCode.InvalidFilter }));
    expect(() => svc.list({ filters: { dangling: ["maybe"] } })).toThrow(/Invalid filter 'dangling/);
    expect(() => svc.list({ filters: { reference: ["[a"] } })).toThrow(/syntax error in pattern/);
    expect(() => svc.list({ filters: { before: ["nothing:here"] } })).toThrow("No such image: nothing:here");
  });

  it("computes shared sizes across the listed images, as moby does, and counts containers", async () => {
    const { base, mid, app, lone } = await lineage();
    containers.push({ id: "c".repeat(64), imageId: app, running: false });
    const rows = Object.fromEntries(svc.list({ sharedSize: true, containerCount: true }).map((r) => [r.Id, r]));
    // mid is an intermediate image, not listed: its layer (200) is app's alone among those listed.
    expect(rows[mid.toString()]).toBeUndefined();
    expect(rows[app.toString()]).toMatchObject({ SharedSize: 1000, Containers: 1 });
    expect(rows[base.toString()]).toMatchObject({ SharedSize: 1000, Containers: 0 });
    expect(rows[lone.toString()]).toMatchObject({ SharedSize: 0 });
    // Listed with -a, mid shares both layers below app.
    const all = Object.fromEntries(svc.list({ all: true, sharedSize: true }).map((r) => [r.Id, r]));
    expect(all[app.toString()]).toMatchObject({ SharedSize: 1200 });
    expect(all[mid.toString()]).toMatchObject({ SharedSize: 1200 });
  });

  it("lists digest references as RepoDigests", async () => {
    const { base } = await lineage();
    const manifest = digestFromString("manifest");
    await svc.references.add(`base@${manifest}`, base);
    expect(svc.list({ filters: { reference: ["base"] } })[0]).toMatchObject({ RepoTags: ["base:1"], RepoDigests: [`base@${manifest}`] });
  });
});

describe("image service: inspect and history", () => {
  it("inspects like docker, fields in dockerd's order", async () => {
    const { base, mid, app } = await lineage();
    const info = await svc.inspect("app:1");
    expect(Object.keys(info)).toEqual([
      "Id",
      "RepoTags",
      "RepoDigests",
      "Parent",
      "Comment",
      "Created",
      "Container",
      "ContainerConfig",
      "DockerVersion",
      "Author",
      "Config",
      "Architecture",
      "Os",
      "Size",
      "VirtualSize",
      "GraphDriver",
      "RootFS",
      "Metadata",
    ]);
    expect(info).toMatchObject({
      Id: app.toString(),
      RepoTags: ["app:1", "localhost:5000/team/app:1"],
      Parent: mid.toString(),
      Comment: "the app",
      Created: "2024-01-03T00:00:00Z",
      Architecture: "amd64",
      Os: "linux",
      Size: 1230,
      GraphDriver: { Name: "overlay2", Data: { UpperDir: expect.stringContaining("/diff") } },
      RootFS: { Type: "layers", Layers: [diff("base"), diff("mid"), diff("app")].map(String) },
    });
    expect(info.Metadata.LastTagTime).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(Object.keys(info.ContainerConfig)).toEqual([
      "Hostname",
      "Domainname",
      "User",
      "AttachStdin",
      "AttachStdout",
      "AttachStderr",
      "Tty",
      "OpenStdin",
      "StdinOnce",
      "Env",
      "Cmd",
      "Image",
      "Volumes",
      "WorkingDir",
      "Entrypoint",
      "OnBuild",
      "Labels",
    ]);
    expect(info.Config).toMatchObject({ Cmd: ["/bin/sh"], Env: ["PATH=/bin"], Labels: { owner: "me", tier: "web" } });
    expect(Object.keys(info.Config!.Labels!)).toEqual(["owner", "tier"]);
    const untagged = await svc.inspect(mid.encoded.slice(0, 12));
    expect(untagged.Metadata.LastTagTime).toBe("0001-01-01T00:00:00Z");
    expect(untagged.Created).toBe("2024-01-02T00:00:00.5Z");
    await expect(svc.inspect("nothing")).rejects.toThrow("No such image: nothing:latest");
    void base;
  });

  it("gives the same answer object while the image is unchanged, and a new one once its tags, parent or last tag time change", async () => {
    const { base, mid, app } = await lineage();
    const first = await svc.inspect("app:1");
    expect(await svc.inspect(app.toString())).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    await svc.tag("app:1", "app:2");
    const retagged = await svc.inspect("app:1");
    expect(retagged).not.toBe(first);
    expect(retagged.RepoTags).toEqual(["app:1", "app:2", "localhost:5000/team/app:1"]);
    expect(retagged.Metadata.LastTagTime).not.toBe(first.Metadata.LastTagTime);
    expect({ ...retagged, RepoTags: first.RepoTags, Metadata: first.Metadata }).toEqual({ ...first });
    await svc.images.setParent(app, base);
    expect((await svc.inspect("app:1")).Parent).toBe(base.toString());
    await svc.remove("app:2");
    expect((await svc.inspect("app:1")).RepoTags).toEqual(["app:1", "localhost:5000/team/app:1"]);
    void mid;
  });

  it("reads lastUpdated once per image, however often it is inspected", async () => {
    const backend = createMemoryBackend();
    let reads = 0;
    const counted = {
      ...backend,
      getMetadata: (id: Digest, key: string) => {
        reads++;
        return backend.getMetadata(id, key);
      },
    };
    const images = await createImageStore({ backend: counted, layers });
    const own = createImageService({ images, references: svc.references, containers: () => [] });
    layers.add([diff("once")]);
    const id = await images.create(config({ diffIds: [diff("once")] }));
    for (let i = 0; i < 5; i++) expect((await own.inspect(id.toString())).Metadata.LastTagTime).toBe("0001-01-01T00:00:00Z");
    expect(reads).toBe(1);
    await own.tag(id.toString(), "once:1");
    const tagged = (await own.inspect("once:1")).Metadata.LastTagTime;
    expect(tagged).not.toBe("0001-01-01T00:00:00Z");
    expect(formatGoTime((await images.getLastUpdated(id))!)).toBe(tagged);
    expect(reads).toBe(1);
  });

  it("refuses to inspect an image whose config was changed on disk, and answers again once it is put back", async () => {
    const driver = createMemoryDriver();
    const images = await createImageStore({ backend: createBackend(driver), layers });
    const own = createImageService({ images, references: svc.references, containers: () => [] });
    layers.add([diff("t")]);
    const bytes = config({ diffIds: [diff("t")], comment: "original" });
    const id = await images.create(bytes);
    await driver.write(contentKey(id), new TextEncoder().encode('{"rootfs":{"type":"layers","diff_ids":[]},"comment":"tampered"}'));
    await expect(own.inspect(id.toString())).rejects.toMatchObject({ code: "ERR_BACKEND_VERIFICATION_FAILED" });
    await driver.write(contentKey(id), bytes);
    expect((await own.inspect(id.toString())).Comment).toBe("original");
  });

  it("lists history newest first, naming local images up the parent chain", async () => {
    const { mid, app } = await lineage();
    const history = await svc.history("app:1");
    expect(history).toEqual([
      {
        Id: app.toString(),
        Created: Date.parse("2024-01-03T00:00:00Z") / 1000,
        CreatedBy: "RUN app",
        Tags: ["app:1", "localhost:5000/team/app:1"],
        Size: 30,
        Comment: "the app",
      },
      { Id: mid.toString(), Created: Date.parse("2024-01-02T12:00:00Z") / 1000, CreatedBy: "ENV x=1", Tags: null, Size: 0, Comment: "" },
      { Id: expect.any(String), Created: Date.parse("2024-01-02T00:00:00Z") / 1000, CreatedBy: "RUN mid", Tags: ["base:1"], Size: 200, Comment: "" },
      { Id: "<missing>", Created: Date.parse("2024-01-01T00:00:00Z") / 1000, CreatedBy: "ADD base", Tags: null, Size: 1000, Comment: "" },
    ]);
  });
});

describe("image service: remove and prune", () => {
  it("only untags while other references remain", async () => {
    const { app } = await lineage();
    expect(await svc.remove("localhost:5000/team/app:1")).toEqual([{ Untagged: "localhost:5000/team/app:1" }]);
    expect(svc.images.has(app)).toBe(true);
    await expect(svc.remove("localhost:5000/team/app:1")).rejects.toThrow("No such image: localhost:5000/team/app:1");
  });

  it("drops a repository's digest references with its last tag", async () => {
    const { base } = await lineage();
    const manifest = digestFromString("manifest");
    await svc.references.add(`base@${manifest}`, base);
    await svc.tag("base:1", "other:1");
    expect(await svc.remove("base:1")).toEqual([{ Untagged: "base:1" }, { Untagged: `base@${manifest}` }]);
    expect(svc.images.has(base)).toBe(true);
  });

  it("deletes an untagged image with its untagged parents (prune), stopping at a tagged one", async () => {
    const { base, mid, app } = await lineage();
    await svc.remove("localhost:5000/team/app:1");
    const out = await svc.remove("app:1");
    expect(out).toEqual([
      { Untagged: "app:1" },
      { Deleted: app.toString() },
      { Deleted: chainId([diff("base"), diff("mid"), diff("app")])!.toString() },
      { Deleted: mid.toString() },
      { Deleted: chainId([diff("base"), diff("mid")])!.toString() },
    ]);
    expect(svc.images.has(base)).toBe(true);
    expect(svc.images.children(base)).toEqual([]);
  });

  it("refuses to delete by ID an image with children, or tagged in several repositories unless forced", async () => {
    const { base, mid, app } = await lineage();
    await expect(svc.remove(mid.encoded.slice(0, 12))).rejects.toThrow(
      `conflict: unable to delete ${mid.encoded.slice(0, 12)} (cannot be forced) - image has dependent child images`,
    );
    await expect(svc.remove(app.encoded.slice(0, 12))).rejects.toThrow(
      `conflict: unable to delete ${app.encoded.slice(0, 12)} (must be forced) - image is referenced in multiple repositories`,
    );
    const out = await svc.remove(app.encoded.slice(0, 12), { force: true, prune: false });
    expect(out.slice(0, 3)).toEqual([{ Untagged: "app:1" }, { Untagged: "localhost:5000/team/app:1" }, { Deleted: app.toString() }]);
    expect(svc.images.has(mid)).toBe(true);
    // by ID with a single tag: untag and delete
    await svc.remove(mid.toString());
    const last = await svc.remove(base.encoded.slice(0, 8));
    expect(last[0]).toEqual({ Untagged: "base:1" });
    expect(svc.list({ all: true }).map((r) => r.RepoTags)).toEqual([["<none>:<none>"]]);
  });

  it("refuses images containers use", async () => {
    const { lone } = await lineage();
    containers.push({ id: "f".repeat(64), imageId: lone, running: true });
    await expect(svc.remove(lone.toString(), { force: true })).rejects.toThrow(/image is being used by running container ffffffffffff/);
    containers[0]!.running = false;
    await expect(svc.remove(lone.toString())).rejects.toThrow(/must be forced\) - image is being used by stopped container/);
    expect(await svc.remove(lone.toString(), { force: true })).toContainEqual({ Deleted: lone.toString() });
  });

  it("prunes dangling images and reports the space reclaimed", async () => {
    const { lone, base } = await lineage();
    const report = await svc.prune();
    expect(report.ImagesDeleted).toEqual([{ Deleted: lone.toString() }, { Deleted: chainId([diff("lone")])!.toString() }]);
    expect(report.SpaceReclaimed).toBe(5);
    expect((await svc.prune()).ImagesDeleted).toEqual([]);
    const all = await svc.prune({ all: true });
    expect(all.ImagesDeleted).toContainEqual({ Untagged: "base:1" });
    expect(all.SpaceReclaimed).toBe(1230);
    expect(svc.images.len()).toBe(0);
    void base;
  });

  it("tags move with docker tag and record lastUpdated", async () => {
    const { base, app } = await lineage();
    await svc.tag("app:1", "base:1");
    expect(svc.references.get("base:1")).toEqual(app);
    expect(await svc.images.getLastUpdated(app)).toBeDefined();
    await expect(svc.tag("app:1", `x@${digestFromString("m")}`)).rejects.toMatchObject({ code: ReferenceErrorCode.Invalid });
    void base;
  });

  it("refuses to tag an image whose config was changed on disk (listing may come from a cache; a tag never does)", async () => {
    const driver = createMemoryDriver();
    const images = await createImageStore({ backend: createBackend(driver), layers });
    const tamperable = createImageService({ images, references: svc.references, containers: () => [] });
    layers.add([diff("t")]);
    const id = await images.create(config({ diffIds: [diff("t")], comment: "original" }));
    await driver.write(contentKey(id), new TextEncoder().encode('{"rootfs":{"type":"layers","diff_ids":[]},"comment":"tampered"}'));
    await expect(tamperable.tag(id.toString(), "tampered:1")).rejects.toMatchObject({ code: "ERR_BACKEND_VERIFICATION_FAILED" });
    expect(() => svc.references.get("tampered:1")).toThrow();
  });

  it("says which of several images a short prefix matches", async () => {
    const ids: Digest[] = [];
    for (let i = 0; i < 40; i++) ids.push(await svc.images.create(config({ comment: String(i) })));
    const first = ids.map((d) => d.encoded[0]!);
    const dup = first.find((c, i) => first.indexOf(c) !== i)!;
    await expect(svc.inspect(dup)).rejects.toMatchObject({ code: ImageErrorCode.Ambiguous });
  });
});
