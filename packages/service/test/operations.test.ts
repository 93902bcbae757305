import { readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isStoreError } from "@store/errors";
import { hasRoot } from "@store/test-peers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ProgressEvent, type StoreService, openStore } from "../src";
import { collect, layerDirs, makeTar, tempDir } from "./helpers";

// The service's operations on real stores: overlay2 on a temp root (root needed, as CI runs).
describe.skipIf(!hasRoot())("a store service", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let root: string;
  let store: StoreService;
  let tar: Buffer;
  let id: string;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    root = join(dir, "root");
    tar = await makeTar({ "etc/": "", "etc/motd": "hello from the service\n", "big.bin": "b".repeat(3 << 20) });
    store = await openStore({ root });
  });
  afterAll(async () => {
    await store?.unmount("m1").catch(() => undefined);
    await store?.close();
    await cleanup?.();
  });

  it("imports a tarball as docker import does, tagged, with Importing progress", async () => {
    const events: ProgressEvent[] = [];
    const result = await store.import([tar], {
      tag: "app:1",
      message: "from a test",
      changes: ['CMD ["sh"]'],
      total: tar.length,
      onProgress: (e) => events.push(e),
    });
    id = result.id.toString();
    expect(result.tag?.familiar).toBe("app:1");
    expect(events[0]).toEqual({ status: "Importing", progressDetail: { current: 0, total: tar.length } });
    expect(events.at(-1)).toEqual({ status: "Importing", progressDetail: { current: tar.length, total: tar.length } });
    const inspect = await store.inspect("app:1");
    expect([inspect.Id, inspect.Comment, inspect.Config?.Cmd]).toEqual([id, "from a test", ["sh"]]);
    expect(store.list().map((s) => s.RepoTags)).toEqual([["app:1"]]);
    expect((await store.history("app:1"))[0]!.Comment).toBe("from a test");
    expect((await store.tag("app:1", "other/name")).familiar).toBe("other/name:latest");
  });

  it("refuses a bad tag or change before reading a byte, and a bad tarball leaves nothing", async () => {
    const before = await layerDirs(root);
    let read = false;
    const spy = (async function* () {
      read = true;
      yield tar;
    })();
    for (const options of [{ tag: "Bad:Name:x" }, { tag: `app@sha256:${"0".repeat(64)}` }, { changes: ["FROB x"] }]) {
      const error = await store.import(spy, options).catch((e: unknown) => e);
      expect(isStoreError(error), String(error)).toBe(true);
    }
    expect(read).toBe(false);
    const garbage = await store.import([new Uint8Array(4096).fill(7)]).catch((e: unknown) => e);
    expect(isStoreError(garbage)).toBe(true);
    expect(await layerDirs(root)).toEqual(before);
    expect(store.list()).toHaveLength(1);
  });

  it("stops an import when its signal is aborted, even waiting for bytes, and removes the half-extracted layer", async () => {
    const before = await layerDirs(root);
    const controller = new AbortController();
    const other = await makeTar({ "x.bin": "x".repeat(2 << 20) });
    const stalled = (async function* () {
      yield other.subarray(0, 1 << 20);
      setTimeout(() => controller.abort("SIGINT"), 50);
      await new Promise(() => undefined); // a pipe left open: no more bytes, ever
    })();
    await expect(store.import(stalled, { tag: "cut:1", signal: controller.signal })).rejects.toBe("SIGINT");
    expect(await layerDirs(root)).toEqual(before);
    expect(() => store.resolve("cut:1")).toThrow(/No such image/);
  });

  it("saves an archive and loads it into another root with Loading layer progress; aborted, a load leaves nothing", async () => {
    const saving: ProgressEvent[] = [];
    const archive = await collect(store.save(["app:1"], { onProgress: (e) => saving.push(e) }));
    expect(saving.at(-1)).toEqual({ status: "Saving", progressDetail: { current: archive.length } });
    const other = await openStore({ root: join(dir, "other") });
    try {
      const controller = new AbortController();
      controller.abort("SIGTERM");
      await expect(other.load([archive], { signal: controller.signal })).rejects.toBe("SIGTERM");
      expect(await layerDirs(other.root)).toEqual([]);
      const loading: ProgressEvent[] = [];
      const result = await other.load([archive], { onProgress: (e) => loading.push(e) });
      expect(result.messages).toEqual(["Loaded image: app:1"]);
      expect(result.images.map((i) => i.id.toString())).toEqual([id]);
      expect(loading.length).toBeGreaterThan(0);
      expect(loading.every((e) => e.status === "Loading layer" && e.id?.length === 12 && e.progressDetail !== undefined)).toBe(true);
      const quiet: ProgressEvent[] = [];
      await other.load([archive], { quiet: true, onProgress: (e) => quiet.push(e) });
      expect(quiet).toEqual([]);
      // A damaged archive is refused and changes nothing.
      const cut = archive.subarray(0, archive.length >> 1);
      await expect(other.load([cut])).rejects.toThrow();
      expect(other.list().map((s) => s.Id)).toEqual([id]);
    } finally {
      await other.close();
    }
    await expect(collect(store.save(["nosuch"]))).rejects.toThrow(/No such image/);
  });

  it("reports disk usage as docker system df computes it, and mounts count as containers", async () => {
    let usage = await store.diskUsage();
    expect([usage.images.length, usage.activeImages, usage.layers.length, usage.activeLayers, usage.mounts]).toEqual([1, 0, 1, 1, []]);
    expect(usage.layers[0]!.images).toBe(1);
    expect(usage.layersSize).toBeGreaterThan(3 << 20);
    expect(usage.imagesReclaimable).toBe(usage.layersSize);

    const mounted = await store.mount("app:1", { name: "m1" });
    expect(await readFile(join(mounted.merged, "etc/motd"), "utf8")).toBe("hello from the service\n");
    await writeFile(join(mounted.merged, "written"), "x".repeat(5000));
    expect((await store.mounts()).map((m) => [m.name, m.merged])).toEqual([["m1", mounted.merged]]);
    usage = await store.diskUsage();
    expect([usage.activeImages, usage.imagesReclaimable, usage.mounts.length]).toEqual([1, 0, 1]);
    expect(usage.mountsSize).toBeGreaterThanOrEqual(5000);
    // Asking twice takes no handle that would have to be given back (or the mount to be removed).
    await store.diskUsage();
    await expect(store.mount("app:1", { name: "bad/name" })).rejects.toThrow(/invalid mount name/);
    await expect(store.remove(id, { force: true })).rejects.toThrow(/being used by running container m1/);

    expect((await store.unmount(mounted.merged)).name).toBe("m1");
    await expect(readFile(join(mounted.merged, "etc/motd"))).rejects.toThrow();
    await expect(store.unmount("m1")).rejects.toThrow("No such mount: m1");
    expect(await store.mounts()).toEqual([]);
  });

  it("verifies every config and layer, naming the images a damaged layer breaks", async () => {
    const events: ProgressEvent[] = [];
    expect(await store.verify({ onProgress: (e) => events.push(e) })).toEqual({ configs: 1, layers: 1, problems: [], reclaimable: [] });
    expect(events.at(-1)?.status).toBe("Verifying");
    expect(events.at(-1)?.progressDetail?.current).toBe(events.at(-1)?.progressDetail?.total);

    const [chain] = await readdir(join(store.imageRoot, "layerdb/sha256"));
    const cacheId = (await readFile(join(store.imageRoot, "layerdb/sha256", chain!, "cache-id"), "utf8")).trim();
    const motd = join(root, "overlay2", cacheId, "diff/etc/motd");
    const original = await readFile(motd);
    await writeFile(motd, "HELLO FROM THE SERVICE\n");
    try {
      const report = await store.verify();
      expect(report.problems).toHaveLength(1);
      expect(report.problems[0]).toMatchObject({ what: "layer", id: `sha256:${chain}`, images: [store.resolve("app:1")] });
      expect(report.problems[0]!.message).toMatch(
        new RegExp(`^layer sha256:${chain} \\(diff sha256:[0-9a-f]{64}, used by app:1, other/name:latest \\(${id.slice(7, 19)}\\)\\): `),
      );
    } finally {
      await writeFile(motd, original);
    }
  });

  it("save stops at the next chunk once its signal is aborted, also between two reads (where no abort event is seen)", async () => {
    const controller = new AbortController();
    let chunks = 0;
    const error = await (async () => {
      for await (const _ of store.save(["app:1"], { signal: controller.signal })) {
        chunks++;
        controller.abort(new Error("stop"));
      }
    })().catch((e: unknown) => e);
    expect(chunks).toBe(1);
    expect((error as Error).message).toBe("stop");
  });

  it("verify beside an rmi in another process reports nothing removed meanwhile as damaged", async () => {
    const other = await makeTar({ "gone.txt": "soon removed\n" });
    await store.import([other], { tag: "gone:1" });
    // A reader opened before the removal still lists the image and its layer, as a verify
    // started just before an rmi would.
    const reader = await openStore({ root, access: "read" });
    try {
      await store.remove("gone:1");
      const report = await reader.verify();
      expect(report.problems).toEqual([]);
    } finally {
      await reader.close();
    }
  });

  it("verify reports a tag whose value is not a digest and a tag that points at no image", async () => {
    const file = join(store.imageRoot, "repositories.json");
    const original = await readFile(file, "utf8");
    const damaged = JSON.parse(original) as { Repositories: Record<string, Record<string, string>> };
    damaged.Repositories.bad = { "bad:zz": "sha256:zz", "bad:gone": `sha256:${"0".repeat(64)}` };
    await writeFile(file, JSON.stringify(damaged));
    const reader = await openStore({ root, access: "read" });
    try {
      const report = await reader.verify();
      expect(report.problems.map((p) => p.what)).toEqual(["reference", "reference"]);
      expect(report.problems[0]!.message).toContain('"sha256:zz"');
      expect(report.problems[1]!.message).toBe(`reference bad:gone points at image sha256:${"0".repeat(64)}, which is not in the store`);
    } finally {
      await reader.close();
      await writeFile(file, original);
    }
  });

  it("removes and prunes with dockerd's rules", async () => {
    expect(await store.remove("other/name")).toEqual([{ Untagged: "other/name:latest" }]);
    const [chain] = await readdir(join(store.imageRoot, "layerdb/sha256"));
    const report = await store.prune({ all: true });
    // As moby: the untagging, the image, then each layer removed (by chain ID).
    expect(report.ImagesDeleted).toEqual([{ Untagged: "app:1" }, { Deleted: id }, { Deleted: `sha256:${chain}` }]);
    expect(report.SpaceReclaimed).toBeGreaterThan(3 << 20);
    expect(store.list()).toEqual([]);
    expect(await layerDirs(root)).toEqual([]);
  });
});
