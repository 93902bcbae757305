import { isStoreError } from "@store/errors";
import { type MetadataStore, createMemoryMetadataStore } from "@store/metadata";
import { describe, expect, test } from "vitest";
import { SharedTierErrorCode } from "../src/index";
import { encodeRecord, readRecord } from "../src/record-codec";
import { parseLeaseRecord } from "../src/leases/lease-record";

/** `store` whose reads of `key` answer the record cut short `torn` times first (a PUT half done). */
function tornReads(store: MetadataStore, key: string, torn: number): MetadataStore {
  let left = torn;
  return {
    ...store,
    async get(k) {
      const record = await store.get(k);
      if (k !== key || !record || left <= 0) return record;
      left--;
      return { ...record, data: record.data.subarray(0, Math.floor(record.data.byteLength / 2)) };
    },
  };
}

describe("readRecord", () => {
  const key = "leases/host-a";
  const lease = {
    v: 1,
    host: "host-a",
    renewed: new Date().toISOString(),
    expires: new Date(Date.now() + 60_000).toISOString(),
    digests: [`sha256:${"a".repeat(64)}`],
  };

  test("a record read mid-write is read again and parses", async () => {
    const store = createMemoryMetadataStore();
    const version = await store.putIfAbsent(key, encodeRecord(lease));
    const read = await readRecord(tornReads(store, key, 2), key, parseLeaseRecord);
    expect(read?.value.host).toBe("host-a");
    expect(read?.version).toBe(version);
  });

  test("a record that never parses is damaged, said with its key; an absent one is undefined", async () => {
    const store = createMemoryMetadataStore();
    await store.putIfAbsent(key, encodeRecord(lease));
    const error = await readRecord(tornReads(store, key, 100), key, parseLeaseRecord).catch((e: unknown) => e);
    expect(isStoreError(error, SharedTierErrorCode.Corrupt)).toBe(true);
    expect((error as Error).message).toContain(JSON.stringify(key));
    expect(await readRecord(store, "leases/none", parseLeaseRecord)).toBeUndefined();
  });
});
