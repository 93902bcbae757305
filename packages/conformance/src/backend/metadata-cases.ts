import { type BackendDriver, BackendErrorCode, metadataPrefix, metadataRoot } from "@store/backend";
import { digestFromBytes } from "@store/digest";
import { expect } from "vitest";
import { expectBytes, sample, text, walked } from "../support/content";
import { expectStoreError } from "../support/expect-store-error";
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

/** The driver's names under `prefix`, checking that its listAll (when it has one) gives the same. */
async function namesUnder(backend: { driver: BackendDriver }, prefix: string): Promise<string[]> {
  const names: string[] = [];
  for await (const name of backend.driver.list(prefix)) names.push(name);
  if (backend.driver.listAll) expect([...(await backend.driver.listAll(prefix))].sort()).toEqual([...names].sort());
  return names;
}

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
    async run({ backend }) {
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
      expect((await namesUnder(backend, metadataPrefix(child))).sort()).toEqual(["builtLocally", "lastUpdated", "parent"]);
      expect(await namesUnder(backend, `${metadataRoot}/sha256`)).toEqual([child.encoded]);
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
    async run({ backend }) {
      const id = await backend.set(sample("image"));
      for (const key of invalidMetadataKeys) {
        await expectStoreError(backend.setMetadata(id, key, text("x")), BackendErrorCode.InvalidKey);
        await expectStoreError(backend.getMetadata(id, key), BackendErrorCode.InvalidKey);
        await expectStoreError(backend.deleteMetadata(id, key), BackendErrorCode.InvalidKey);
      }
      expect(await namesUnder(backend, metadataRoot)).toEqual([]);
      expect(await namesUnder(backend, metadataPrefix(id))).toEqual([]);
      expect(await walked(backend)).toEqual([id.toString()]);
    },
  },
  {
    concern,
    name: "metadata of missing content fails, naming the digest, and nothing is written",
    async run({ backend }) {
      const id = digestFromBytes(sample("absent"));
      await expectStoreError(backend.setMetadata(id, "parent", text("x")), BackendErrorCode.NotFound, [id.toString()]);
      await expectStoreError(backend.getMetadata(id, "parent"), BackendErrorCode.NotFound, [id.toString()]);
      expect(await namesUnder(backend, metadataPrefix(id))).toEqual([]);
    },
  },
  {
    concern,
    name: "deleting content deletes its metadata",
    async run({ backend }) {
      const id = await backend.set(sample("image"));
      await backend.setMetadata(id, "parent", text("sha256:abc"));
      await backend.setMetadata(id, "lastUpdated", text("now"));
      await backend.delete(id);
      expect(await namesUnder(backend, metadataPrefix(id))).toEqual([]);
      await backend.set(sample("image"));
      await expectStoreError(backend.getMetadata(id, "parent"), BackendErrorCode.NotFound, ["parent"]);
      await expectStoreError(backend.getMetadata(id, "lastUpdated"), BackendErrorCode.NotFound, ["lastUpdated"]);
    },
  },
];
