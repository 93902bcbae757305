import { MetadataErrorCode } from "../index";
import { expect } from "vitest";
import { expectStoreError } from "@store/conformance";
import type { MetadataCase } from "./metadata-fixture";
import { bytes, expectRecord, textAt } from "./metadata-support";

const concern = "records";

/** Every byte value, so no driver gets away with text-only storage. */
const binary = Uint8Array.from({ length: 512 }, (_, i) => (i * 7) % 256);

/**
 * Get, create, replace, delete and list, one writer at a time. These run on every store (a store
 * on a medium without conditions runs them through `allowUnconditional`): sequential staleness
 * is caught by a check even where a race would not be.
 */
export const recordCases: readonly MetadataCase[] = [
  {
    concern,
    name: "get of a missing key is undefined",
    async run({ store }) {
      expect(await store.get("missing")).toBeUndefined();
      expect(await store.get("no/such/deep/key")).toBeUndefined();
    },
  },
  {
    concern,
    name: "putIfAbsent stores the bytes as given; get returns them with the version it returned",
    async run({ store }) {
      const version = await store.putIfAbsent("blob", binary);
      expect(typeof version).toBe("string");
      expect(version).not.toBe("");
      const record = await store.get("blob");
      expect(record?.version).toBe(version);
      await expectRecord(store, "blob", binary);
    },
  },
  {
    concern,
    name: "putIfAbsent on an existing key is refused with ERR_METADATA_CONFLICT and the record is kept",
    async run({ store }) {
      const version = await store.putIfAbsent("tags/repositories.json", bytes("first"));
      const error = await expectStoreError(store.putIfAbsent("tags/repositories.json", bytes("second")), MetadataErrorCode.Conflict, [
        "tags/repositories.json",
      ]);
      expect((error as { kind?: string }).kind).toBe("conflict");
      expect(await textAt(store, "tags/repositories.json")).toBe("first");
      expect((await store.get("tags/repositories.json"))?.version).toBe(version);
    },
  },
  {
    concern,
    name: "putIfVersion with the current version replaces the record and returns its new version",
    async run({ store }) {
      const v1 = await store.putIfAbsent("counter", bytes("1"));
      const v2 = await store.putIfVersion("counter", bytes("2"), v1);
      expect(v2).not.toBe(v1);
      expect(await store.get("counter")).toEqual({ data: expect.anything(), version: v2 });
      expect(await textAt(store, "counter")).toBe("2");
      const v3 = await store.putIfVersion("counter", bytes("three"), v2);
      expect(await textAt(store, "counter")).toBe("three");
      expect((await store.get("counter"))?.version).toBe(v3);
    },
  },
  {
    concern,
    name: "putIfVersion with a stale version is refused and the record is kept",
    async run({ store }) {
      const v1 = await store.putIfAbsent("counter", bytes("1"));
      const v2 = await store.putIfVersion("counter", bytes("2"), v1);
      await expectStoreError(store.putIfVersion("counter", bytes("lost update"), v1), MetadataErrorCode.Conflict, ["counter"]);
      expect(await textAt(store, "counter")).toBe("2");
      expect((await store.get("counter"))?.version).toBe(v2);
    },
  },
  {
    concern,
    name: "putIfVersion on a deleted or never written record is refused and creates nothing",
    async run({ store }) {
      const v1 = await store.putIfAbsent("gone", bytes("x"));
      await store.delete("gone");
      await expectStoreError(store.putIfVersion("gone", bytes("back"), v1), MetadataErrorCode.Conflict, ["gone"]);
      await expectStoreError(store.putIfVersion("never", bytes("y"), v1), MetadataErrorCode.Conflict, ["never"]);
      expect(await store.get("gone")).toBeUndefined();
      expect(await store.get("never")).toBeUndefined();
      expect(await store.list("")).toEqual([]);
    },
  },
  {
    concern,
    name: "delete with the current version removes the record; with a stale one it is refused",
    async run({ store }) {
      const v1 = await store.putIfAbsent("lease", bytes("host-a"));
      const v2 = await store.putIfVersion("lease", bytes("host-b"), v1);
      await expectStoreError(store.delete("lease", { ifVersion: v1 }), MetadataErrorCode.Conflict, ["lease"]);
      expect(await textAt(store, "lease")).toBe("host-b");
      await store.delete("lease", { ifVersion: v2 });
      expect(await store.get("lease")).toBeUndefined();
      await expectStoreError(store.delete("lease", { ifVersion: v2 }), MetadataErrorCode.Conflict, ["lease"]);
    },
  },
  {
    concern,
    name: "delete without a version removes the record; a missing record is not an error",
    async run({ store }) {
      await store.putIfAbsent("a/b", bytes("x"));
      await store.delete("a/b");
      expect(await store.get("a/b")).toBeUndefined();
      await store.delete("a/b");
      await store.delete("never/written");
      // Deleted, it can be created again.
      await store.putIfAbsent("a/b", bytes("again"));
      expect(await textAt(store, "a/b")).toBe("again");
    },
  },
  {
    concern,
    name: "list gives every key below a prefix, recursively and sorted, and nothing of sibling names",
    async run({ store }) {
      const keys = ["leases/host-b", "leases/host-a", "leases/zone/host-c", "leasesX", "leases-other/x", "repositories.json"];
      for (const key of keys) await store.putIfAbsent(key, bytes(key));
      expect(await store.list("leases")).toEqual(["leases/host-a", "leases/host-b", "leases/zone/host-c"]);
      expect(await store.list("leases/zone")).toEqual(["leases/zone/host-c"]);
      expect(await store.list("")).toEqual([...keys].sort());
      expect(await store.list("nothing")).toEqual([]);
      await store.delete("leases/host-a");
      expect(await store.list("leases")).toEqual(["leases/host-b", "leases/zone/host-c"]);
    },
  },
  {
    concern,
    name: "bytes handed in or out are copies: changing them changes no record",
    async run({ store }) {
      const data = bytes("original");
      await store.putIfAbsent("copy", data);
      data[0] = 0x58;
      const record = await store.get("copy");
      record!.data[1] = 0x58;
      expect(await textAt(store, "copy")).toBe("original");
    },
  },
  {
    concern,
    name: "empty data, non-byte data and empty versions are refused, and nothing is written",
    async run({ store }) {
      await expectStoreError(store.putIfAbsent("empty", new Uint8Array(0)), MetadataErrorCode.EmptyData, ["empty"]);
      await expectStoreError(store.putIfAbsent("text", "not bytes" as unknown as Uint8Array), MetadataErrorCode.InvalidArgument, ["text"]);
      const v = await store.putIfAbsent("kept", bytes("kept"));
      await expectStoreError(store.putIfVersion("kept", new Uint8Array(0), v), MetadataErrorCode.EmptyData, ["kept"]);
      await expectStoreError(store.putIfVersion("kept", bytes("x"), ""), MetadataErrorCode.InvalidArgument, ["kept"]);
      await expectStoreError(store.delete("kept", { ifVersion: "" }), MetadataErrorCode.InvalidArgument, ["kept"]);
      expect(await store.list("")).toEqual(["kept"]);
      expect(await textAt(store, "kept")).toBe("kept");
    },
  },
];
