import { expectStoreError } from "@store/conformance";
import { describe, expect, test } from "vitest";
import { MemoryMetadataDriver, MetadataErrorCode, createMemoryMetadataStore, createMetadataStore, update } from "../src/index";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The memory driver on a medium that says it cannot compare-and-swap (as s3rver). */
class UnconditionalDriver extends MemoryMetadataDriver {
  override readonly capabilities = { conditional: false, persistent: false, shared: false };
}

describe("a store whose medium does not honour conditions never pretends", () => {
  test("conditional writes are refused with ERR_METADATA_UNSUPPORTED (kind unsupported), and nothing is written", async () => {
    const store = createMetadataStore(new UnconditionalDriver());
    expect(store.capabilities.conditional).toBe(false);
    const error = await expectStoreError(store.putIfAbsent("tags", encoder.encode("x")), MetadataErrorCode.Unsupported, ["tags", "allowUnconditional"]);
    expect((error as { kind?: string }).kind).toBe("unsupported");
    await expectStoreError(store.putIfVersion("tags", encoder.encode("x"), "1"), MetadataErrorCode.Unsupported, ["tags"]);
    await expectStoreError(store.delete("tags", { ifVersion: "1" }), MetadataErrorCode.Unsupported, ["tags"]);
    expect(await store.list("")).toEqual([]);
    // Reads and unconditional deletes are fine.
    expect(await store.get("tags")).toBeUndefined();
    await store.delete("tags");
  });

  test("with allowUnconditional they check, then write; capabilities still say conditional is false", async () => {
    const store = createMetadataStore(new UnconditionalDriver(), { allowUnconditional: true });
    expect(store.capabilities.conditional).toBe(false);
    const v1 = await store.putIfAbsent("tags", encoder.encode("one"));
    await expectStoreError(store.putIfAbsent("tags", encoder.encode("two")), MetadataErrorCode.Conflict, ["tags"]);
    const v2 = await store.putIfVersion("tags", encoder.encode("two"), v1);
    await expectStoreError(store.putIfVersion("tags", encoder.encode("three"), v1), MetadataErrorCode.Conflict, ["tags"]);
    await expectStoreError(store.delete("tags", { ifVersion: v1 }), MetadataErrorCode.Conflict, ["tags"]);
    await store.delete("tags", { ifVersion: v2 });
    expect(await store.get("tags")).toBeUndefined();
  });
});

describe("update", () => {
  test("gives up after `retries` lost writes with ERR_METADATA_CONFLICT, and the winner's write stands", async () => {
    const store = createMemoryMetadataStore();
    await store.putIfAbsent("k", encoder.encode("0"));
    let calls = 0;
    // Every time fn runs, another writer changes the record first.
    const error = await expectStoreError(
      update(
        store,
        "k",
        async (data) => {
          calls++;
          const current = (await store.get("k"))!;
          await store.putIfVersion("k", encoder.encode(`other ${calls}`), current.version);
          return encoder.encode(`mine from ${decoder.decode(data!)}`);
        },
        { retries: 3, backoffMs: 1 },
      ),
      MetadataErrorCode.Conflict,
      ["k", "4 times"],
    );
    expect(error.message).toContain("gave up");
    expect(calls).toBe(4);
    expect(decoder.decode((await store.get("k"))!.data)).toBe("other 4");
  });

  test("an error thrown by fn is rethrown as is, and nothing is written", async () => {
    const store = createMemoryMetadataStore();
    await expect(update(store, "k", () => Promise.reject(new Error("fn failed")))).rejects.toThrow("fn failed");
    expect(await store.get("k")).toBeUndefined();
  });
});
