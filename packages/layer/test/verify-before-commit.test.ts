import { execFileSync } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { digestFromBytes } from "@store/digest";
import { isStoreError } from "@store/errors";
import { LayerErrorCode } from "../src/index";
import { tarBytes, tempStore } from "./helpers";

let t: Awaited<ReturnType<typeof tempStore>>;
beforeEach(async () => {
  t = await tempStore();
});
afterEach(async () => {
  await t.cleanup();
});

/** Everything of a root a register could leave: layerdb entries and temp write sets, driver dirs and links. */
async function rootState() {
  const layerdb = join(t.root, "image", "overlay2", "layerdb");
  const list = async (dir: string) => (await readdir(dir).catch(() => [] as string[])).sort();
  return {
    layerdb: await list(join(layerdb, "sha256")),
    tmp: await list(join(layerdb, "tmp")),
    driver: (await list(join(t.root, "overlay2"))).filter((d) => d !== "l"), // made at the first create

    links: await list(join(t.root, "overlay2", "l")),
    layers: [...t.store.map().keys()].sort(),
  };
}

/** Rejects with a StoreError of `code` whose message mentions each of `mentions`, and returns it. */
async function refusedWith(promise: Promise<unknown>, code: string, ...mentions: string[]) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isStoreError(error, code), String(error)).toBe(true);
  for (const m of mentions) expect((error as Error).message).toContain(m);
  return error as Error & { kind: string; details: Record<string, unknown> };
}

const layerTar = () =>
  tarBytes([
    { name: "etc/", type: "directory" },
    { name: "etc/hostname", content: "verified\n" },
    { name: "data.bin", content: "d".repeat(200_000) },
  ]);

const zstd = (bytes: Buffer) => execFileSync("zstd", ["-q", "-c"], { input: bytes });
const wrong = digestFromBytes("not this layer");

describe("register returns the blob as received, hashed in the same pass", () => {
  it("plain, gzip and zstd: the blob's digest, size and compression, and the tar's diffID", async () => {
    const tar = await layerTar();
    const diffId = digestFromBytes(tar);
    const plain = await t.store.register([tar], undefined, { expected: { diffId, blob: { digest: diffId, size: tar.length } } });
    expect(plain.compression).toBe("none");
    expect(plain.blob.digest.toString()).toBe(diffId.toString());
    expect(plain.blob.size).toBe(tar.length);
    expect(plain.layer.diffId.toString()).toBe(diffId.toString());
    for (const [compression, blob] of [
      ["gzip", gzipSync(tar)],
      ["zstd", zstd(tar)],
    ] as const) {
      // Tiny chunks: the digest must cover every byte, however the source splits them.
      const chunks = Array.from({ length: Math.ceil(blob.length / 999) }, (_, i) => blob.subarray(i * 999, (i + 1) * 999));
      const digest = digestFromBytes(blob);
      const got = await t.store.register(chunks, undefined, {
        expected: { diffId: diffId.toString(), blob: { digest: digest.toString(), size: blob.length } },
      });
      expect(got.compression).toBe(compression);
      expect(got.blob).toEqual({ digest, size: blob.length });
      expect(got.layer.chainId.toString()).toBe(diffId.toString()); // the same layer, a new handle
      await t.store.release(got.layer);
    }
    await t.store.release(plain.layer);
    expect(await rootState()).toEqual({ layerdb: [], tmp: [], driver: [], links: [], layers: [] });
  });
});

describe("a layer that is not what was expected is refused before anything is committed", () => {
  it("a wrong diffID: ERR_LAYER_DIFF_ID_MISMATCH naming both digests, the root as it was", async () => {
    const { layer: base } = await t.store.register([await tarBytes([{ name: "base", content: "b" }])]);
    const before = await rootState();
    const tar = await layerTar();
    for (const source of [tar, gzipSync(tar), zstd(tar)]) {
      const e = await refusedWith(
        t.store.register([source], base.chainId, { expected: { diffId: wrong } }),
        LayerErrorCode.DiffIdMismatch,
        wrong.toString(),
        digestFromBytes(tar).toString(),
      );
      expect(e.kind).toBe("dataLoss");
      expect(await rootState()).toEqual(before);
    }
    // The refused register held the parent while it ran, and gave it back: the last release removes it.
    expect((await t.store.release(base)).map((m) => m.chainId.toString())).toEqual([base.chainId.toString()]);
  });

  it("a compressed blob with a wrong digest or size: ERR_LAYER_BLOB_MISMATCH, the root as it was", async () => {
    const tar = await layerTar();
    const diffId = digestFromBytes(tar);
    const before = await rootState();
    for (const blob of [gzipSync(tar), zstd(tar)]) {
      const digest = digestFromBytes(blob);
      const byDigest = await refusedWith(
        t.store.register([blob], undefined, { expected: { diffId, blob: { digest: wrong, size: blob.length } } }),
        LayerErrorCode.BlobMismatch,
        wrong.toString(),
        digest.toString(),
      );
      expect(byDigest.kind).toBe("dataLoss");
      expect(await rootState()).toEqual(before);
      // Shorter than said: found at the end. Longer: refused as soon as it runs past the size.
      await refusedWith(
        t.store.register([blob], undefined, { expected: { diffId, blob: { digest, size: blob.length + 1 } } }),
        LayerErrorCode.BlobMismatch,
        `${blob.length + 1} bytes`,
      );
      await refusedWith(
        t.store.register([blob], undefined, { expected: { diffId, blob: { digest, size: blob.length - 1 } } }),
        LayerErrorCode.BlobMismatch,
        `${blob.length - 1} bytes`,
      );
      expect(await rootState()).toEqual(before);
    }
    // A plain tar is its own blob: a wrong blob digest is refused as well.
    await refusedWith(
      t.store.register([tar], undefined, { expected: { blob: { digest: wrong } } }),
      LayerErrorCode.BlobMismatch,
      wrong.toString(),
      diffId.toString(),
    );
    expect(await rootState()).toEqual(before);
  });

  it("malformed expectations are refused before any byte is read", async () => {
    let read = false;
    const source = (async function* () {
      read = true;
      yield await layerTar();
    })();
    await refusedWith(t.store.register(source, undefined, { expected: { diffId: "not-a-digest" } }), "ERR_DIGEST_INVALID_FORMAT", "not-a-digest");
    await refusedWith(t.store.register(source, undefined, { expected: { blob: { size: -1 } } }), LayerErrorCode.InvalidArgument, "-1");
    await refusedWith(t.store.register(source, "not-a-digest"), "ERR_DIGEST_INVALID_FORMAT", "not-a-digest");
    expect(read).toBe(false);
    expect(await rootState()).toEqual({ layerdb: [], tmp: [], driver: [], links: [], layers: [] });
  });

  it("staging: checked once extracted, and again at commit with what is known by then", async () => {
    const { layer: base } = await t.store.register([await tarBytes([{ name: "base", content: "b" }])]);
    const before = await rootState();
    const tar = await layerTar();
    const blob = gzipSync(tar);
    await refusedWith(t.store.stage([blob], { expected: { blob: { digest: wrong } } }), LayerErrorCode.BlobMismatch, wrong.toString());
    expect(await rootState()).toEqual(before);
    const staged = await t.store.stage([blob]);
    expect(staged.compression).toBe("gzip");
    expect(staged.blob).toEqual({ digest: digestFromBytes(blob), size: blob.length });
    await refusedWith(staged.commit(base.chainId.toString(), { diffId: wrong }), LayerErrorCode.DiffIdMismatch, wrong.toString(), staged.diffId.toString());
    expect(await rootState()).toEqual(before); // the staged files went with the refusal
    await refusedWith(staged.commit(base.chainId), LayerErrorCode.StagedLayerGone);
    const again = await t.store.stage([blob]);
    const committed = await again.commit(base.chainId.toString(), { diffId: digestFromBytes(tar), blob: { digest: digestFromBytes(blob), size: blob.length } });
    expect(committed.blob).toEqual(again.blob);
    expect(committed.compression).toBe("gzip");
    expect(committed.layer.parent?.chainId.toString()).toBe(base.chainId.toString());
  });
});

describe("an AbortSignal cancels an extraction and leaves nothing", () => {
  /** `bytes` in pieces, aborting `controller` after the first `after` pieces. */
  async function* abortingSource(bytes: Buffer, controller: AbortController, after: number) {
    for (let i = 0; i * 10_000 < bytes.length; i++) {
      if (i === after) controller.abort();
      yield bytes.subarray(i * 10_000, (i + 1) * 10_000);
    }
  }

  it("mid-layer, for register (plain and gzip) and stage, with a parent held", async () => {
    const { layer: base } = await t.store.register([await tarBytes([{ name: "base", content: "b" }])]);
    const before = await rootState();
    const tar = await layerTar();
    for (const [i, bytes] of [tar, gzipSync(tar, { level: 0 })].entries()) {
      const controller = new AbortController();
      const error = await t.store.register(abortingSource(bytes, controller, 3), base.chainId, { signal: controller.signal }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((error as Error)?.name, `case ${i}: ${String(error)}`).toBe("AbortError");
      expect(await rootState()).toEqual(before);
      const staging = new AbortController();
      await expect(t.store.stage(abortingSource(bytes, staging, 3), { signal: staging.signal })).rejects.toMatchObject({ name: "AbortError" });
      expect(await rootState()).toEqual(before);
    }
    // Already aborted: refused before the driver is touched.
    await expect(t.store.register([tar], undefined, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: "AbortError" });
    expect(await rootState()).toEqual(before);
    expect((await t.store.release(base)).length).toBe(1);
  });
});

describe("digests as text", () => {
  it("get, register and createRWLayer take a Digest or its string", async () => {
    const { layer: base } = await t.store.register([await tarBytes([{ name: "base", content: "b" }])]);
    const again = await t.store.get(base.chainId.toString());
    expect(again.cacheId).toBe(base.cacheId);
    const { layer: top } = await t.store.register([await tarBytes([{ name: "top", content: "t" }])], base.chainId.toString());
    expect(top.parent?.chainId.toString()).toBe(base.chainId.toString());
    const rw = await t.store.createRWLayer("ctr", top.chainId.toString());
    await t.store.releaseRWLayer(rw);
    await refusedWith(t.store.get("NOT-A-DIGEST"), "ERR_DIGEST_INVALID_FORMAT", "NOT-A-DIGEST");
  });
});
