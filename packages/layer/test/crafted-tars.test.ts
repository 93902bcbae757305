import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isStoreError } from "@store/errors";
import type { EntrySpec } from "@store/test-peers";
import { tarBytes, tempStore } from "./helpers";

let t: Awaited<ReturnType<typeof tempStore>>;
beforeEach(async () => {
  t = await tempStore();
});
afterEach(async () => {
  await t.cleanup();
});

/** Nothing of a refused layer may remain: no layerdb entry, no driver dir, no temp write set. */
async function expectNothingLeft(root: string) {
  const layerdb = join(root, "image", "overlay2", "layerdb");
  expect(await readdir(join(layerdb, "sha256")).catch(() => [])).toEqual([]);
  expect(await readdir(join(layerdb, "tmp")).catch(() => [])).toEqual([]);
  expect((await readdir(join(root, "overlay2")).catch(() => [])).filter((n) => n !== "l")).toEqual([]);
  expect(await readdir(join(root, "overlay2", "l")).catch(() => [])).toEqual([]);
}

const crafted: Array<[string, EntrySpec[], RegExp]> = [
  ["a .. path", [{ name: "../escape", content: "x" }], /escape|\.\./],
  ["a deep .. path", [{ name: "a/../../escape", content: "x" }], /escape|\.\./],
  [
    "a symlink leading a later entry outside",
    [
      { name: "link", type: "symlink", linkname: "/" },
      { name: "link/etc/evil", content: "x" },
    ],
    /link/,
  ],
  [
    "a relative symlink leading a later entry outside",
    [
      { name: "up", type: "symlink", linkname: "../../../.." },
      { name: "up/evil", content: "x" },
    ],
    /up/,
  ],
  ["a hardlink to outside", [{ name: "hl", type: "hardlink", linkname: "../../../../etc/passwd" }], /hl|passwd/],
  ["a hardlink to a missing file", [{ name: "hl", type: "hardlink", linkname: "missing" }], /hl|missing/],
  [
    "the same path twice",
    [
      { name: "dup", content: "1" },
      { name: "./dup", content: "2" },
    ],
    /dup/,
  ],
];

describe("crafted layer tars are refused with a clear error and leave nothing behind", () => {
  it.each(crafted)("%s", async (_what, specs, mentions) => {
    const tar = await tarBytes(specs);
    const err = await t.store.register([tar]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isStoreError(err), `expected a StoreError, got ${String(err)}`).toBe(true);
    expect((err as Error).message).toMatch(mentions);
    await expectNothingLeft(t.root);
  });

  it("an absolute path is kept inside the layer, as dockerd does", async () => {
    const { layer } = await t.store.register([await tarBytes([{ name: "/abs", content: "x" }])]);
    expect(await readdir(join(t.root, "overlay2", layer.cacheId, "diff"))).toEqual(["abs"]);
  });

  it("a truncated archive", async () => {
    const tar = await tarBytes([{ name: "f", content: "y".repeat(3000) }]);
    await expect(t.store.register([tar.subarray(0, 1200)])).rejects.toMatchObject({ code: expect.stringMatching(/TRUNCATED/) });
    await expectNothingLeft(t.root);
  });

  it("a header with a broken checksum", async () => {
    const tar = await tarBytes([{ name: "f", content: "y" }]);
    tar[10] ^= 0xff;
    await expect(t.store.register([tar])).rejects.toMatchObject({ code: expect.stringMatching(/INVALID_HEADER/) });
    await expectNothingLeft(t.root);
  });

  it("garbage and a corrupt gzip stream", async () => {
    await expect(t.store.register([Buffer.from("this is not a tar at all, not even close".repeat(20))])).rejects.toSatisfy(isStoreError);
    await expect(t.store.register([Buffer.from([0x1f, 0x8b, 0x08, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9])])).rejects.toSatisfy(isStoreError);
    await expectNothingLeft(t.root);
  });

  it("a source that fails midway", async () => {
    const tar = await tarBytes([{ name: "f", content: "z".repeat(100_000) }]);
    const source = (async function* () {
      yield tar.subarray(0, 50_000);
      throw new Error("connection reset by peer");
    })();
    await expect(t.store.register(source)).rejects.toThrow(/connection reset/);
    await expectNothingLeft(t.root);
  });
});
