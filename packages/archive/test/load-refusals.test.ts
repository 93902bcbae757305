import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digestFromBytes } from "@store/digest";
import { isStoreError } from "@store/errors";
import { hasRoot } from "@store/test-peers";
import { type ArchiveStores, loadArchive, saveArchive } from "../src/index";
import { chunked, collect, tempStores, type TempStores } from "./helpers";
import { archive, dockerArchiveFiles, layerTar, syntheticImage, type SyntheticImage } from "./synthetic";

/** Everything a load could have left in the stores. */
function snapshot(stores: ArchiveStores) {
  return {
    images: stores.images.ids().map(String),
    layers: [...stores.layers.map().keys()].sort(),
    tags: stores.references.repositories().flatMap((r) => stores.references.referencesByName(r).map((a) => `${a.ref.familiar}=${a.id}`)),
  };
}

describe.skipIf(!hasRoot())("loading synthetic archives", () => {
  let stores: TempStores;
  let spoolDir: string;
  let base: Buffer;
  let top: Buffer;
  let image: SyntheticImage;

  beforeAll(async () => {
    stores = await tempStores();
    spoolDir = await mkdtemp(join(tmpdir(), "archive-spool-"));
    base = await layerTar({ "etc/hostname": "synthetic\n", "bin/tool": "#!/bin/sh\n" });
    top = await layerTar({ "data/a.txt": "a".repeat(3000), "data/b.txt": "b" });
    image = syntheticImage([base, top]);
    // Something in the stores beforehand, so "as they were" is not just "empty".
    const other = syntheticImage([await layerTar({ "other/file": "x" })], { comment: "pre-existing" });
    await loadArchive(chunked(await archive(dockerArchiveFiles([{ image: other, tags: ["keep:me"] }]))), stores);
  });

  afterAll(async () => {
    await stores?.cleanup();
    if (spoolDir) await rm(spoolDir, { recursive: true, force: true });
  });

  async function refused(bytes: Buffer, code: string, message?: RegExp, options: { memoryBudget?: number } = {}): Promise<void> {
    const before = snapshot(stores);
    let error: unknown;
    try {
      await loadArchive(chunked(bytes, 1000), stores, { tempDir: spoolDir, ...options });
    } catch (e) {
      error = e;
    }
    expect(isStoreError(error), String(error)).toBe(true);
    expect((error as { code: string }).code, (error as Error).message).toBe(code);
    if (message) expect((error as Error).message).toMatch(message);
    expect(snapshot(stores)).toEqual(before);
    expect(await readdir(spoolDir)).toEqual([]);
  }

  it("loads with the manifest first or last, gzip-compressed archives and gzip layers", async () => {
    for (const [i, bytes] of [
      await archive(dockerArchiveFiles([{ image, tags: ["syn:first"] }], { manifestFirst: true })),
      await archive(dockerArchiveFiles([{ image, tags: ["syn:last"] }])),
      await archive(dockerArchiveFiles([{ image, tags: ["syn:gz"] }]), { gzip: true }),
      await archive(dockerArchiveFiles([{ image: { ...image, layers: [gzipSync(base), gzipSync(top)] }, tags: ["syn:gzlayers"] }])),
    ].entries()) {
      const fresh = await tempStores();
      try {
        const result = await loadArchive(chunked(bytes, 777), fresh, { tempDir: spoolDir });
        expect(
          result.images.map((x) => x.id.toString()),
          `case ${i}`,
        ).toEqual([image.id.toString()]);
        expect([...fresh.layers.map().keys()].length).toBe(2);
        expect((await fresh.images.get(image.id)).chainId?.toString()).toBe(image.chainId.toString());
      } finally {
        await fresh.cleanup();
      }
    }
    expect(await readdir(spoolDir)).toEqual([]);
  });

  it("moves a tag as docker load does, and says so", async () => {
    const fresh = await tempStores();
    try {
      const other = syntheticImage([base], { comment: "other" });
      await loadArchive(chunked(await archive(dockerArchiveFiles([{ image: other, tags: ["app:1"] }]))), fresh);
      const result = await loadArchive(chunked(await archive(dockerArchiveFiles([{ image, tags: ["app:1"] }]))), fresh);
      expect(result.messages).toEqual([`The image app:1 already exists, renaming the old one with ID ${other.id} to empty string`, "Loaded image: app:1"]);
      expect(fresh.references.get("app:1").toString()).toBe(image.id.toString());
      const untagged = await loadArchive(chunked(await archive(dockerArchiveFiles([{ image: other, tags: [] }]))), fresh);
      expect(untagged.messages).toEqual([`Loaded image ID: ${other.id}`]);
      // Loading what is there already re-uses every layer.
      const again = await loadArchive(chunked(await collect(saveArchive(["app:1"], fresh))), fresh);
      expect(again.images[0]!.id.toString()).toBe(image.id.toString());
      expect(fresh.layers.map().size).toBe(2);
    } finally {
      await fresh.cleanup();
    }
  });

  describe("memory bounded by the budget, not by the archive", () => {
    it("refuses a metadata file over 20 MiB before reading it", async () => {
      const files = dockerArchiveFiles([{ image, tags: ["meta:big"] }]);
      files.unshift({ name: "huge.json", body: Buffer.alloc(21 << 20, 0x20) });
      await refused(
        await archive(files, { gzip: true }),
        "ERR_ARCHIVE_INVALID",
        /"huge\.json": 22020096 bytes is too large for a metadata file \(at most 20 MiB\)/,
      );
    });

    it("refuses an archive of more entries than the budget holds (each costs 256 bytes), before the end", async () => {
      const files = dockerArchiveFiles([{ image, tags: ["meta:links"] }]);
      for (let i = 0; i < 500; i++) files.unshift({ name: `link${i}`, type: "symlink", linkname: "manifest.json" });
      await refused(
        await archive(files, { gzip: true }),
        "ERR_ARCHIVE_INVALID",
        /^archive entry "link\d+": the archive has more entries than the load's budget of 100000 bytes holds/,
        {
          memoryBudget: 100_000,
        },
      );
    });

    it("refuses metadata past the budget, and spools small files past it (the load still succeeds)", async () => {
      const files = dockerArchiveFiles([{ image, tags: ["meta:many"] }]);
      for (let i = 0; i < 8; i++) files.unshift({ name: `junk${i}.json`, body: "{}".padEnd(100_000, " ") });
      const before = snapshot(stores);
      const error = await loadArchive(chunked(await archive(files), 1000), stores, { tempDir: spoolDir, memoryBudget: 500_000 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isStoreError(error, "ERR_ARCHIVE_INVALID"), String(error)).toBe(true);
      expect((error as Error).message).toMatch(
        /^archive entry "junk3\.json": 100000 bytes more of metadata would take .* past the load's budget of 500000 bytes$/,
      );
      expect(snapshot(stores)).toEqual(before);
      expect(await readdir(spoolDir)).toEqual([]);

      // Layers (small files) past a tiny budget wait on disk; configs and manifest fit.
      const fresh = await tempStores();
      try {
        const bytes = await archive(dockerArchiveFiles([{ image, tags: ["meta:spooled"] }]));
        const result = await loadArchive(chunked(bytes, 1000), fresh, { tempDir: spoolDir, memoryBudget: 4096 });
        expect(result.images.map((x) => x.id.toString())).toEqual([image.id.toString()]);
        expect([...fresh.layers.map().keys()].length).toBe(2);
        expect(await readdir(spoolDir)).toEqual([]);
      } finally {
        await fresh.cleanup();
      }
    });
  });

  /** Driver dirs that are not a layer of the store: what a load must never leave behind. */
  async function strayDriverDirs(): Promise<string[]> {
    const owned = new Set([...stores.layers.map().values()].map((l) => l.cacheId));
    return (await readdir(join(stores.root, "overlay2"))).filter((d) => d !== "l" && !owned.has(d));
  }

  describe("big layers that arrive before the manifest says where they go (extracted at once, stacked later)", () => {
    let bigBase: Buffer;
    let bigTop: Buffer;
    beforeAll(async () => {
      // Over the 1 MiB kept in memory: these take the staged path.
      bigBase = await layerTar({ "big/base.bin": "b".repeat(1_500_000), "etc/os": "staged\n" });
      bigTop = await layerTar({ "big/top.bin": "t".repeat(1_200_000) });
    });

    it("loads them with the IDs and chain docker load gives, leaving no extracted copies", async () => {
      const big = syntheticImage([bigBase, bigTop], { comment: "staged" });
      const unused = await layerTar({ "unused.bin": "u".repeat(1_100_000) });
      const files = dockerArchiveFiles([{ image: big, tags: ["staged:1"] }]);
      // An extra layer file no manifest names is extracted too, then thrown away.
      files.unshift({ name: "ffff/layer.tar", body: unused });
      const result = await loadArchive(chunked(await archive(files), 100_000), stores, { tempDir: spoolDir });
      expect(result.images.map((i) => i.id.toString())).toEqual([big.id.toString()]);
      const top = await stores.layers.get(big.chainId);
      expect(top.diffId.toString()).toBe(digestFromBytes(bigTop).toString());
      expect(top.parent?.chainId.toString()).toBe(digestFromBytes(bigBase).toString());
      expect((await collect(top.tarStream())).equals(bigTop)).toBe(true);
      await stores.layers.release(top);
      expect(await strayDriverDirs()).toEqual([]);
      expect(await readdir(spoolDir)).toEqual([]);
      // Loading it again takes the chain already there and extracts nothing that stays.
      await loadArchive(chunked(await archive(files), 100_000), stores, { tempDir: spoolDir });
      expect(await strayDriverDirs()).toEqual([]);
    });

    it("ignores a big blob that looks like a layer but is not one, unless a manifest names it", async () => {
      const notATar = gzipSync(randomBytes(1_500_000)); // gzip magic, garbage inside
      const img = syntheticImage([bigBase], { comment: "with a stray blob" });
      const files = dockerArchiveFiles([{ image: img, tags: ["stray:1"] }]);
      files.unshift({ name: `blobs/sha256/${"e".repeat(64)}`, body: notATar });
      // A big file that does not even look like a layer is spooled to disk, then dropped.
      files.unshift({ name: `blobs/sha256/${"c".repeat(64)}`, body: Buffer.concat([Buffer.from("not a layer\n"), randomBytes(1_200_000)]) });
      const result = await loadArchive(chunked(await archive(files), 100_000), stores, { tempDir: spoolDir });
      expect(result.images.map((i) => i.id.toString())).toEqual([img.id.toString()]);
      expect(await strayDriverDirs()).toEqual([]);
      expect(await readdir(spoolDir)).toEqual([]);
      // Named as a layer, it is refused with the file named.
      const named = dockerArchiveFiles([{ image: syntheticImage([bigBase], { comment: "names a bad blob" }), tags: ["stray:2"] }]).map((f) =>
        f.name.endsWith("/layer.tar") ? { name: `blobs/sha256/${"d".repeat(64)}`, body: notATar } : f,
      );
      const manifest = named.find((f) => f.name === "manifest.json")!;
      manifest.body = String(manifest.body).replace(/"[0-9a-f]{64}\/layer\.tar"/, `"blobs/sha256/${"d".repeat(64)}"`);
      await refused(await archive(named), "ERR_ARCHIVE_INVALID", new RegExp(`blobs/sha256/${"d".repeat(12)}`));
      expect(await strayDriverDirs()).toEqual([]);
    });

    it("refuses one whose diff ID is not the config's, leaving the store and driver dirs as they were", async () => {
      const lying = syntheticImage([bigBase, bigTop], { diffIds: [digestFromBytes(bigBase), digestFromBytes(Buffer.from("not this"))] });
      await refused(await archive(dockerArchiveFiles([{ image: lying, tags: ["bad:big"] }])), "ERR_ARCHIVE_LAYER_MISMATCH", /invalid diffID/);
      expect(await strayDriverDirs()).toEqual([]);
    });
  });

  it("refuses a manifest naming a missing config or layer", async () => {
    const files = dockerArchiveFiles([{ image, tags: ["bad:1"] }]);
    await refused(await archive(files.filter((f) => !f.name.endsWith(".json") || f.name === "manifest.json")), "ERR_ARCHIVE_MISSING_FILE", /\.json/);
    const firstLayer = files.find((f) => f.name.endsWith("/layer.tar"))!.name;
    await refused(await archive(files.filter((f) => f.name !== firstLayer)), "ERR_ARCHIVE_MISSING_FILE", new RegExp(firstLayer.slice(0, 12)));
  });

  it("refuses a layer whose diff ID is not the config's, releasing layers registered for it", async () => {
    const lying = syntheticImage([base, top], { diffIds: [digestFromBytes(base), digestFromBytes(Buffer.from("something else"))] });
    await refused(
      await archive(dockerArchiveFiles([{ image: lying, tags: ["bad:2"] }], { manifestFirst: true })),
      "ERR_ARCHIVE_LAYER_MISMATCH",
      /invalid diffID/,
    );
    await refused(await archive(dockerArchiveFiles([{ image: lying, tags: ["bad:2"] }])), "ERR_ARCHIVE_LAYER_MISMATCH");
  });

  it("refuses the whole archive when its second image is bad: the first is not created either", async () => {
    const lying = syntheticImage([top], { diffIds: [digestFromBytes(base)] });
    await refused(
      await archive(
        dockerArchiveFiles([
          { image, tags: ["good:1"] },
          { image: lying, tags: ["bad:3"] },
        ]),
      ),
      "ERR_ARCHIVE_LAYER_MISMATCH",
    );
  });

  it("refuses path traversal in entry names and manifest paths", async () => {
    const files = dockerArchiveFiles([{ image, tags: ["bad:4"] }]);
    await refused(await archive([{ name: "../evil", body: "x" }, ...files]), "ERR_ARCHIVE_INVALID", /escapes the archive/);
    const manifest = [{ Config: "../../etc/passwd", RepoTags: [], Layers: [] }];
    await refused(await archive(dockerArchiveFiles([{ image, tags: [] }], { manifest })), "ERR_ARCHIVE_INVALID", /escapes the archive/);
  });

  it("refuses truncated, empty, non-tar and manifest-less input", async () => {
    const whole = await archive(dockerArchiveFiles([{ image, tags: ["bad:5"] }], { manifestFirst: true }));
    await refused(whole.subarray(0, whole.length - 1500), "ERR_ARCHIVE_INVALID");
    await refused(whole.subarray(0, 3000), "ERR_ARCHIVE_INVALID");
    await refused(Buffer.alloc(0), "ERR_ARCHIVE_INVALID");
    await refused(Buffer.from("this is not a tar archive at all".repeat(40)), "ERR_ARCHIVE_INVALID");
    await refused(await archive([{ name: "repositories", body: "{}" }]), "ERR_ARCHIVE_INVALID", /neither manifest.json nor index.json/);
    await refused(await archive([{ name: "manifest.json", body: "null" }]), "ERR_ARCHIVE_INVALID", /cannot be null/);
  });

  it("refuses a layer count that does not match the config, and a bad tag", async () => {
    const files = dockerArchiveFiles([{ image, tags: ["bad:6"] }]);
    const manifest = JSON.parse(String(files.at(-1)!.body));
    manifest[0].Layers.pop();
    await refused(
      await archive([...files.slice(0, -1), { name: "manifest.json", body: JSON.stringify(manifest) }]),
      "ERR_ARCHIVE_INVALID",
      /layers length mismatch/,
    );
    await refused(await archive(dockerArchiveFiles([{ image, tags: ["Not A Tag"] }])), "ERR_ARCHIVE_INVALID_REFERENCE");
    await refused(await archive(dockerArchiveFiles([{ image, tags: ["notag"] }])), "ERR_ARCHIVE_INVALID_REFERENCE");
  });

  it("save of an ID prefix that fits several images says it is ambiguous, not that there is no such image", async () => {
    const fresh = await tempStores();
    try {
      // Two images over one layer whose IDs start with the same hex digit (one in 16 pairs does).
      const seen = new Map<string, SyntheticImage>();
      let pair: [SyntheticImage, SyntheticImage] | undefined;
      for (let i = 0; !pair; i++) {
        const candidate = syntheticImage(image.layers, { comment: `twin ${i}` });
        const first = candidate.id.encoded[0]!;
        const other = seen.get(first);
        if (other) pair = [other, candidate];
        else seen.set(first, candidate);
      }
      const prefix = pair[0].id.encoded[0]!;
      await loadArchive(chunked(await archive(dockerArchiveFiles(pair.map((p, i) => ({ image: p, tags: [`twin:${i}`] }))))), fresh);
      await expect(collect(saveArchive([prefix], fresh))).rejects.toMatchObject({ code: "ERR_IMAGE_AMBIGUOUS" });
    } finally {
      await fresh.cleanup();
    }
  });

  it("save refuses a layer whose files changed on disk (diff ID verified as it streams)", async () => {
    const fresh = await tempStores();
    try {
      await loadArchive(chunked(await archive(dockerArchiveFiles([{ image, tags: ["syn:1"] }]))), fresh);
      const ok = await collect(saveArchive(["syn:1"], fresh));
      expect((await collect(saveArchive(["syn:1"], fresh))).equals(ok)).toBe(true);
      const upper = (
        await fresh.layers.get(image.chainId).then(async (l) => {
          const m = await l.metadata();
          await fresh.layers.release(l);
          return m;
        })
      ).UpperDir!;
      await writeFile(join(upper, "data", "b.txt"), "B");
      await expect(collect(saveArchive(["syn:1"], fresh))).rejects.toMatchObject({ code: "ERR_ARCHIVE_LAYER_MISMATCH" });
      await expect(collect(saveArchive(["nope:1"], fresh))).rejects.toMatchObject({ code: "ERR_ARCHIVE_IMAGE_NOT_FOUND" });
    } finally {
      await fresh.cleanup();
    }
  });

  it("refuses an OCI blob whose content does not match its digest", async () => {
    const ociFiles = await collect(saveArchive(["keep:me"], stores, { format: "oci" }));
    // Flip a byte inside the config blob's JSON (a string value), keeping the tar valid.
    const text = ociFiles.toString("latin1");
    const at = text.indexOf('"pre-existing"');
    expect(at).toBeGreaterThan(0);
    const broken = Buffer.from(ociFiles);
    broken[at + 1] = "P".charCodeAt(0);
    // the header checksum does not cover content, so the tar stays readable
    await refused(broken, "ERR_ARCHIVE_INVALID", /digest/);
  });
});
