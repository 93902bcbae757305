import { MetadataErrorCode, maxKeyLength, maxSegmentLength } from "../index";
import { expect } from "vitest";
import { expectStoreError } from "@store/conformance";
import type { MetadataCase } from "./metadata-fixture";
import { bytes, textAt } from "./metadata-support";

const concern = "keys";

/** Keys every store refuses: escapes, empty segments, the fs driver's own files, odd bytes. */
export const invalidRecordKeys: readonly string[] = [
  "",
  "/",
  "/abs",
  "trailing/",
  "a//b",
  ".",
  "..",
  "../escape",
  "a/../../escape",
  "a/./b",
  ".hidden",
  "dir/.tmp-repositories.json123",
  "repositories.json.lock",
  "with space",
  "back\\slash",
  "nul\0byte",
  "new\nline",
  "tab\t",
  "caf\u00e9",
  "x".repeat(maxSegmentLength + 1),
  `${"abcdefgh/".repeat(Math.ceil(maxKeyLength / 9))}x`,
];

/** The longest valid key, in segments of 100 characters (deep directories cost an fsync each on fs). */
function longestKey(): string {
  let key = "";
  while (key.length + 100 < maxKeyLength) key += `${"k".repeat(99)}/`;
  return key + "k".repeat(maxKeyLength - key.length);
}

/** Key validation: the same names are valid on every medium, and a bad one never writes. */
export const keyCases: readonly MetadataCase[] = [
  {
    concern,
    name: "invalid keys are refused by every operation with ERR_METADATA_INVALID_KEY, and nothing is written",
    async run({ store }) {
      const v = await store.putIfAbsent("kept", bytes("kept"));
      for (const key of invalidRecordKeys) {
        const named = [JSON.stringify(key)];
        await expectStoreError(store.get(key), MetadataErrorCode.InvalidKey, named);
        await expectStoreError(store.putIfAbsent(key, bytes("x")), MetadataErrorCode.InvalidKey, named);
        await expectStoreError(store.putIfVersion(key, bytes("x"), v), MetadataErrorCode.InvalidKey, named);
        await expectStoreError(store.delete(key), MetadataErrorCode.InvalidKey, named);
        await expectStoreError(store.delete(key, { ifVersion: v }), MetadataErrorCode.InvalidKey, named);
        if (key !== "") await expectStoreError(store.list(key), MetadataErrorCode.InvalidKey, named);
      }
      expect(await store.list("")).toEqual(["kept"]);
      expect(await textAt(store, "kept")).toBe("kept");
    },
  },
  {
    concern,
    name: "a non-string key is refused, not coerced",
    async run({ store }) {
      await expectStoreError(store.get(42 as unknown as string), MetadataErrorCode.InvalidKey);
      await expectStoreError(store.putIfAbsent(["a"] as unknown as string, bytes("x")), MetadataErrorCode.InvalidKey);
      expect(await store.list("")).toEqual([]);
    },
  },
  {
    concern,
    name: "deep keys with every allowed character, and the longest keys, round-trip",
    async run({ store }) {
      const keys = [
        "distribution/diffid-by-digest/sha256/4c0e2f1d",
        "repositories.json",
        "a/b/c/d/e/f/g/h",
        "odd!\"#$%&'()*+,-.:;<=>?@[]^_`{|}~chars",
        "x".repeat(maxSegmentLength),
        longestKey(),
      ];
      for (const key of keys) await store.putIfAbsent(key, bytes(`value of ${key.length}`));
      for (const key of keys) expect(await textAt(store, key)).toBe(`value of ${key.length}`);
      expect(await store.list("")).toEqual([...keys].sort());
    },
  },
];
