import { BackendErrorCode } from "@store/backend";
import { type Digest, digestFromBytes } from "@store/digest";
import { expect } from "vitest";
import { expectBytes, sample, text, walked } from "../support/content";
import { expectStoreError } from "../support/expect-store-error";
import { metadataDir, namesUnder } from "../support/raw-access";
import type { BackendCase } from "./backend-fixture";

const concern = "metadata";

/** Keys that could escape the content's metadata directory or are otherwise unusable. */
export const invalidMetadataKeys: readonly string[] = [
  "",
  ".",
  "..",
  "../parent",
  "../../content/sha256/x",
  "a/b",
  "/abs",
  "a\\b",
  "nul\0byte",
  ".tmp-parent",
  " parent",
  "k".repeat(256),
];

/** Per-content metadata: dockerd's keys, CRUD, key checks, content must exist. */
export const metadataCases: readonly BackendCase[] = [
  {
    concern,
    name: "set, get, overwrite and delete a key",
    async run({ backend }) {
      const id = await backend.set(sample("image"));
      await backend.setMetadata(id, "lastUpdated", text("2024-01-02T03:04:05.123456789Z"));
      expectBytes(await backend.getMetadata(id, "lastUpdated"), text("2024-01-02T03:04:05.123456789Z"));
      await backend.setMetadata(id, "lastUpdated", text("2025-06-07T08:09:10Z"));
      expectBytes(await backend.getMetadata(id, "lastUpdated"), text("2025-06-07T08:09:10Z"));
      await backend.deleteMetadata(id, "lastUpdated");
      await expectStoreError(backend.getMetadata(id, "lastUpdated"), BackendErrorCode.NotFound, [id.toString(), "lastUpdated"]);
      await backend.deleteMetadata(id, "lastUpdated"); // a missing key is not an error
      expectBytes(await backend.get(id), sample("image"));
    },
  },
  {
    concern,
    name: "dockerd's keys keep their exact bytes (parent, lastUpdated, builtLocally)",
    async run({ backend, driver }) {
      const parent = await backend.set(sample("parent"));
      const child = await backend.set(sample("child"));
      const values = {
        parent: text(parent.toString()), // raw, no newline
        lastUpdated: text("2024-01-02T03:04:05.123456789+01:00"),
        builtLocally: new Uint8Array([1]),
      };
      for (const [key, value] of Object.entries(values)) await backend.setMetadata(child, key, value);
      for (const [key, value] of Object.entries(values)) expectBytes(await backend.getMetadata(child, key), value);
      await expectStoreError(backend.getMetadata(parent, "parent"), BackendErrorCode.NotFound, ["parent"]);
      if (driver) {
        // Where dockerd looks for them.
        expect((await namesUnder(driver, metadataDir(child))).sort()).toEqual(["builtLocally", "lastUpdated", "parent"]);
        expect(await namesUnder(driver, "metadata/sha256")).toEqual([child.encoded]);
      }
    },
  },
  {
    concern,
    name: "metadata of one content is independent of another's",
    async run({ backend }) {
      const a = await backend.set(sample("a"));
      const b = await backend.set(sample("b"));
      await backend.setMetadata(a, "parent", text("for a"));
      await backend.setMetadata(b, "parent", text("for b"));
      await backend.deleteMetadata(a, "parent");
      expectBytes(await backend.getMetadata(b, "parent"), text("for b"));
    },
  },
  {
    concern,
    name: "invalid keys are refused with ERR_BACKEND_INVALID_KEY and nothing is written",
    async run({ backend, driver }) {
      const id = await backend.set(sample("image"));
      for (const key of invalidMetadataKeys) {
        await expectStoreError(backend.setMetadata(id, key, text("x")), BackendErrorCode.InvalidKey);
        await expectStoreError(backend.getMetadata(id, key), BackendErrorCode.InvalidKey);
        await expectStoreError(backend.deleteMetadata(id, key), BackendErrorCode.InvalidKey);
      }
      if (driver) {
        expect(await namesUnder(driver, "metadata")).toEqual([]);
        expect(await namesUnder(driver, metadataDir(id))).toEqual([]);
      }
      expect(await walked(backend)).toEqual([id.toString()]);
    },
  },
  {
    concern,
    name: "metadata of missing content fails, naming the digest, and nothing is written",
    async run({ backend, driver }) {
      const id = digestFromBytes(sample("absent"));
      await expectStoreError(backend.setMetadata(id, "parent", text("x")), BackendErrorCode.NotFound, [id.toString()]);
      await expectStoreError(backend.getMetadata(id, "parent"), BackendErrorCode.NotFound, [id.toString()]);
      if (driver) expect(await namesUnder(driver, metadataDir(id))).toEqual([]);
    },
  },
  {
    concern,
    name: "deleting content deletes its metadata",
    async run({ backend, driver }) {
      const id = await backend.set(sample("image"));
      await backend.setMetadata(id, "parent", text("sha256:abc"));
      await backend.setMetadata(id, "lastUpdated", text("now"));
      await backend.delete(id);
      if (driver) expect(await namesUnder(driver, metadataDir(id))).toEqual([]);
      await backend.set(sample("image"));
      await expectStoreError(backend.getMetadata(id, "parent"), BackendErrorCode.NotFound, ["parent"]);
      await expectStoreError(backend.getMetadata(id, "lastUpdated"), BackendErrorCode.NotFound, ["lastUpdated"]);
    },
  },
  {
    concern,
    name: "walkMetadata hands out one key's value for every content that has it, sorted, and nothing else",
    async run({ backend }) {
      const ids: Digest[] = [];
      for (let i = 0; i < 12; i++) ids.push(await backend.set(sample(`image ${i}`)));
      const parents = new Map<string, string>();
      for (const [i, id] of ids.entries()) {
        if (i % 3 === 0) continue; // no metadata at all
        if (i % 3 === 1) {
          await backend.setMetadata(id, "parent", text(ids[i - 1]!.toString()));
          parents.set(id.toString(), ids[i - 1]!.toString());
        }
        await backend.setMetadata(id, "lastUpdated", text(`t${i}`));
      }
      const seen: [string, string][] = [];
      await backend.walkMetadata("parent", (id, value) => void seen.push([id.toString(), new TextDecoder().decode(value)]));
      expect(seen).toEqual([...parents.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
      // Filtered as walk is, and no value for a key nobody has.
      const first = [...parents.keys()].sort()[0]!;
      const narrowed: string[] = [];
      await backend.walkMetadata("parent", (id) => void narrowed.push(id.toString()), { encodedPrefix: first.slice(7, 7 + 12) });
      expect(narrowed).toEqual([first]);
      const none: string[] = [];
      await backend.walkMetadata("builtLocally", (id) => void none.push(id.toString()));
      expect(none).toEqual([]);
    },
  },
  {
    concern,
    name: "walkMetadata sees deletions, stops on a callback error, and refuses invalid keys",
    async run({ backend }) {
      const a = await backend.set(sample("a"));
      const b = await backend.set(sample("b"));
      await backend.setMetadata(a, "parent", text(b.toString()));
      await backend.setMetadata(b, "parent", text(a.toString()));
      await backend.deleteMetadata(a, "parent");
      const seen: string[] = [];
      await backend.walkMetadata("parent", (id) => void seen.push(id.toString()));
      expect(seen).toEqual([b.toString()]);
      await backend.setMetadata(a, "parent", text(b.toString()));
      const failure = new Error("callback refused");
      let calls = 0;
      const error = await backend
        .walkMetadata("parent", async () => {
          calls++;
          throw failure;
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBe(failure);
      expect(calls).toBe(1);
      for (const key of invalidMetadataKeys) {
        await expectStoreError(
          backend.walkMetadata(key, () => undefined),
          BackendErrorCode.InvalidKey,
        );
      }
    },
  },
];
