import { mkdtemp, mkdir, readFile, readdir, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { digestFromBytes, parseDigest } from "@store/digest";
import { LayerErrorCode } from "../src/errors";
import { createFsLayerMetadataStore } from "../src/fs-metadata-store";
import { createMemoryLayerMetadataStore } from "../src/memory-metadata-store";
import type { LayerMetadataStore } from "../src/metadata-store";

const diffId = parseDigest("sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae");
const chain = digestFromBytes("chain");
const parent = digestFromBytes("parent");

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "layerdb-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const stores: Array<[string, () => LayerMetadataStore]> = [
  ["fs", () => createFsLayerMetadataStore({ root: dir })],
  ["memory", () => createMemoryLayerMetadataStore()],
];

describe.each(stores)("%s layer metadata store", (_name, make) => {
  it("records a layer as one unit and reads it back", async () => {
    const s = make();
    expect(await s.get(chain)).toBeUndefined();
    await s.put(chain, { diffId, size: 42, cacheId: "c".repeat(64), parent }, new Uint8Array([1, 2, 3]));
    expect(await s.get(chain)).toEqual({ diffId, size: 42, cacheId: "c".repeat(64), parent });
    expect([...(await s.getTarSplit(chain))]).toEqual([1, 2, 3]);
    expect((await s.list()).layers.map(String)).toEqual([chain.toString()]);
    await s.remove(chain);
    expect(await s.get(chain)).toBeUndefined();
    expect((await s.list()).layers).toEqual([]);
    await s.remove(chain); // idempotent
  });

  it("records mounts", async () => {
    const s = make();
    await s.putMount("ctr1", { mountId: "m".repeat(64), initId: `${"m".repeat(64)}-init`, parent: chain });
    expect(await s.getMount("ctr1")).toEqual({ mountId: "m".repeat(64), initId: `${"m".repeat(64)}-init`, parent: chain });
    expect((await s.list()).mounts).toEqual(["ctr1"]);
    await s.removeMount("ctr1");
    expect(await s.getMount("ctr1")).toBeUndefined();
  });
});

describe("fs layer metadata store: dockerd's layout", () => {
  it("writes dockerd's files and modes", async () => {
    const s = createFsLayerMetadataStore({ root: dir });
    await s.put(chain, { diffId, size: 1024, cacheId: "a".repeat(64), parent }, new Uint8Array([9]));
    const layer = join(dir, "sha256", chain.encoded);
    expect((await readdir(layer)).sort()).toEqual(["cache-id", "diff", "parent", "size", "tar-split.json.gz"]);
    expect(await readFile(join(layer, "diff"), "utf8")).toBe(diffId.toString());
    expect(await readFile(join(layer, "size"), "utf8")).toBe("1024");
    expect(await readFile(join(layer, "parent"), "utf8")).toBe(parent.toString());
    expect((await stat(join(layer, "diff"))).mode & 0o777).toBe(0o644);
    expect((await stat(layer)).mode & 0o777).toBe(0o700);
    expect(await readdir(join(dir, "tmp"))).toEqual([]);
  });

  it("reads what dockerd wrote (whitespace trimmed), refuses corrupt files naming them", async () => {
    const layer = join(dir, "sha256", chain.encoded);
    await mkdir(layer, { recursive: true });
    await writeFile(join(layer, "diff"), `${diffId}\n`);
    await writeFile(join(layer, "size"), "12\n");
    await writeFile(join(layer, "cache-id"), "b".repeat(64));
    const s = createFsLayerMetadataStore({ root: dir });
    expect(await s.get(chain)).toEqual({ diffId, size: 12, cacheId: "b".repeat(64) });
    await writeFile(join(layer, "diff"), "sha256:nothex");
    await expect(s.get(chain)).rejects.toMatchObject({ code: "ERR_LAYER_CORRUPT_METADATA", message: expect.stringContaining(join(layer, "diff")) });
    await writeFile(join(layer, "diff"), diffId.toString());
    await writeFile(join(layer, "size"), "-1");
    await expect(s.get(chain)).rejects.toMatchObject({ code: "ERR_LAYER_CORRUPT_METADATA" });
  });

  it("cleans up stale interrupted writes and removals, and lists only chain IDs", async () => {
    const old = new Date(Date.now() - 3600_000);
    await mkdir(join(dir, "tmp", "write-set-123"), { recursive: true });
    await mkdir(join(dir, "sha256", `${chain.encoded}-${"f".repeat(64)}-removing`), { recursive: true });
    await mkdir(join(dir, "sha256", "not-a-layer"), { recursive: true });
    await utimes(join(dir, "tmp", "write-set-123"), old, old);
    await utimes(join(dir, "sha256", `${chain.encoded}-${"f".repeat(64)}-removing`), old, old);
    const s = createFsLayerMetadataStore({ root: dir });
    expect((await s.list()).layers).toEqual([]);
    await s.cleanup();
    expect(await readdir(join(dir, "sha256"))).toEqual(["not-a-layer"]);
    expect(await readdir(join(dir, "tmp"))).toEqual([]);
  });

  it("leaves a fresh write-set alone: another process may be writing it right now", async () => {
    await mkdir(join(dir, "tmp", "write-set-live"), { recursive: true });
    await writeFile(join(dir, "tmp", "write-set-live", "diff"), "sha256:...");
    await mkdir(join(dir, "sha256", `${chain.encoded}-${"e".repeat(64)}-removing`), { recursive: true });
    await createFsLayerMetadataStore({ root: dir }).cleanup();
    expect(await readdir(join(dir, "tmp"))).toEqual(["write-set-live"]);
    expect(await readdir(join(dir, "sha256"))).toEqual([`${chain.encoded}-${"e".repeat(64)}-removing`]);
  });

  it("refuses mount names that could escape with ERR_LAYER_INVALID_NAME, writing nothing", async () => {
    const s = createFsLayerMetadataStore({ root: dir });
    for (const bad of ["../x", "a/b", "", "..", "-rf", "x".repeat(256)]) {
      await expect(s.putMount(bad, { mountId: "x" })).rejects.toMatchObject({ code: LayerErrorCode.InvalidName, kind: "invalid" });
      await expect(s.getMount(bad)).rejects.toMatchObject({ code: LayerErrorCode.InvalidName });
    }
    expect(await readdir(dir).catch(() => [])).not.toContain("mounts");
    await s.putMount("_ok.1-2", { mountId: "x" }); // the one rule: "_" first is fine
    expect((await s.getMount("_ok.1-2"))?.mountId).toBe("x");
  });
});
