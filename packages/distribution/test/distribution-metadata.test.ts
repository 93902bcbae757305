import { mkdtemp, readFile, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { digestFromString } from "@store/digest";
import { createFsMetadataStore, createMemoryMetadataStore } from "@store/metadata";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DistributionErrorCode, DistributionMetadata, checkV2MetadataHmac, distributionDirMode, distributionFileMode } from "../src/index";

const diffId = digestFromString("diff");
const blob = (n: number) => digestFromString(`blob ${n}`);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "distmeta-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("distribution metadata", () => {
  it("writes dockerd's files: JSON array with Go field order, raw diff ID, 0644 files", async () => {
    const root = join(dir, "distribution");
    const meta = new DistributionMetadata({ root });
    await meta.add(diffId, { Digest: blob(1), SourceRepository: "docker.io/library/busybox", HMAC: "" });
    const byDiff = join(root, "v2metadata-by-diffid", "sha256", diffId.encoded);
    const byBlob = join(root, "diffid-by-digest", "sha256", blob(1).encoded);
    expect(await readFile(byDiff, "utf8")).toBe(`[{"Digest":"${blob(1)}","SourceRepository":"docker.io/library/busybox","HMAC":""}]`);
    expect(await readFile(byBlob, "utf8")).toBe(diffId.toString());
    expect((await stat(byDiff)).mode & 0o777).toBe(0o644);
    expect((await stat(root)).mode & 0o777).toBe(0o700);
    expect((await stat(join(root, "v2metadata-by-diffid"))).mode & 0o777).toBe(0o755);
    expect((await stat(join(root, "diffid-by-digest", "sha256"))).mode & 0o777).toBe(0o755);
    expect((await stat(byBlob)).mode & 0o777).toBe(0o644);
    expect(await readdir(join(root, "v2metadata-by-diffid", "sha256"))).toEqual([diffId.encoded]); // no lock or temp file left
    expect(await meta.getDiffId(blob(1))).toEqual(diffId);
    expect(await meta.getMetadata(diffId)).toEqual([{ Digest: blob(1), SourceRepository: "docker.io/library/busybox", HMAC: "" }]);
  });

  it("keeps the last 50, moves a re-added entry to the end, removes entries and the file", async () => {
    const meta = new DistributionMetadata({ store: createMemoryMetadataStore() });
    for (let i = 0; i < 55; i++) await meta.add(diffId, { Digest: blob(i), SourceRepository: "r", HMAC: "" });
    let list = await meta.getMetadata(diffId);
    expect(list).toHaveLength(50);
    expect(list[0]!.Digest).toEqual(blob(5));
    await meta.add(diffId, { Digest: blob(10), SourceRepository: "r", HMAC: "" });
    list = await meta.getMetadata(diffId);
    expect(list.at(-1)!.Digest).toEqual(blob(10));
    expect(list).toHaveLength(50);
    for (const m of list) await meta.remove(m);
    expect(await meta.getMetadata(diffId)).toEqual([]);
    await expect(meta.getDiffId(digestFromString("unknown"))).rejects.toMatchObject({ code: DistributionErrorCode.MetadataNotFound });
  });

  it("takes digests as text too; a bad one is refused naming it, with nothing written", async () => {
    const store = createMemoryMetadataStore();
    const meta = new DistributionMetadata({ store });
    await meta.add(diffId.toString(), { Digest: blob(1), SourceRepository: "r", HMAC: "" });
    expect(await meta.getDiffId(blob(1).toString())).toEqual(diffId);
    expect(await meta.getMetadata(diffId.toString())).toHaveLength(1);
    const snapshot = async () => Promise.all((await store.list("")).map(async (k) => [k, (await store.get(k))!.version]));
    const before = await snapshot();
    await expect(meta.add("sha256:0xbad", { Digest: blob(2), SourceRepository: "r", HMAC: "" })).rejects.toMatchObject({
      kind: "invalid",
      message: expect.stringContaining("sha256:0xbad"),
    });
    await expect(meta.getDiffId("nope")).rejects.toMatchObject({ kind: "invalid" });
    expect(await snapshot()).toEqual(before);
  });

  it("tags entries with moby's HMAC and checks it", async () => {
    const meta = new DistributionMetadata({ store: createMemoryMetadataStore() });
    const key = new TextEncoder().encode("sha256:key");
    await meta.tagAndAdd(diffId, key, { Digest: blob(1), SourceRepository: "r" });
    const [m] = await meta.getMetadata(diffId);
    expect(m!.HMAC).toMatch(/^[0-9a-f]{64}$/);
    expect(checkV2MetadataHmac(m!, key)).toBe(true);
    expect(checkV2MetadataHmac(m!, new TextEncoder().encode("other"))).toBe(false);
    expect(checkV2MetadataHmac({ ...m!, HMAC: "" }, undefined)).toBe(true);
  });

  it("reports corrupt records naming the key, over a shared store under dockerd's prefix", async () => {
    const store = createMemoryMetadataStore();
    const meta = new DistributionMetadata({ store });
    const byDiff = `distribution/v2metadata-by-diffid/sha256/${diffId.encoded}`;
    await store.putIfAbsent(byDiff, new TextEncoder().encode("[{"));
    await expect(meta.getMetadata(diffId)).rejects.toThrow(`${byDiff}: not JSON`);
    await store.putIfAbsent(`distribution/diffid-by-digest/sha256/${blob(1).encoded}`, new TextEncoder().encode("junk"));
    await expect(meta.getDiffId(blob(1))).rejects.toMatchObject({ code: DistributionErrorCode.MetadataCorrupt });
    // an add over unreadable metadata starts afresh, as moby
    await meta.add(diffId, { Digest: blob(2), SourceRepository: "r", HMAC: "" });
    expect(await meta.getMetadata(diffId)).toHaveLength(1);
    expect(await store.list("")).toEqual([
      `distribution/diffid-by-digest/sha256/${blob(1).encoded}`,
      `distribution/diffid-by-digest/sha256/${blob(2).encoded}`,
      byDiff,
    ]);
  });

  it("loses no entry when several writers add to one diff ID at once, through one fs store or several", async () => {
    const root = join(dir, "image", "overlay2");
    const open = () =>
      createFsMetadataStore({ root, fileMode: (k) => (k.startsWith("distribution/") ? distributionFileMode : 0o600), dirMode: distributionDirMode });
    const writers = [new DistributionMetadata({ store: open() }), new DistributionMetadata({ store: open() })];
    await Promise.all(Array.from({ length: 20 }, (_, i) => writers[i % 2]!.add(diffId, { Digest: blob(i), SourceRepository: "r", HMAC: "" })));
    const list = await new DistributionMetadata({ root: join(root, "distribution") }).getMetadata(diffId);
    expect(list.map((m) => m.Digest.toString()).sort()).toEqual(Array.from({ length: 20 }, (_, i) => blob(i).toString()).sort());
    await Promise.all(list.map((m, i) => writers[i % 2]!.remove(m)));
    expect(await writers[0]!.getMetadata(diffId)).toEqual([]);
    expect(await writers[1]!.getDiffId(blob(3))).toEqual(diffId); // stays, as in moby
  });
});
