import { MetadataErrorCode, update } from "../index";
import { isStoreError } from "@store/errors";
import { expect } from "vitest";
import { type MetadataCase, needsConditional } from "./metadata-fixture";
import { bytes, racingStores, settle, textAt, textOf } from "./metadata-support";

const concern = "compare-and-swap";

/** Asserts every loser lost with ERR_METADATA_CONFLICT, not with some other failure. */
function expectConflicts(lost: unknown[]): void {
  for (const e of lost) {
    if (!isStoreError(e, MetadataErrorCode.Conflict)) throw e;
  }
}

/**
 * Writers racing each other, through two stores over the same location when the fixture can open
 * a second. Only a medium that enforces the condition itself passes these; they are skipped where
 * `capabilities.conditional` is false.
 */
export const casCases: readonly MetadataCase[] = [
  {
    concern,
    name: "racing putIfAbsent on one fresh key: exactly one wins, the others get ERR_METADATA_CONFLICT",
    unsupported: needsConditional,
    async run({ store, reopen }, { racers }) {
      const stores = await racingStores(store, reopen);
      for (const key of ["race/a", "race/b"]) {
        const { won, lost } = await settle(
          Array.from({ length: racers }, (_, i) => stores[i % stores.length]!.putIfAbsent(key, bytes(`writer ${i}`)).then((v) => ({ i, v }))),
        );
        expect(won.length, `winners of ${key}`).toBe(1);
        expectConflicts(lost);
        const record = await store.get(key);
        expect(textOf(record?.data)).toBe(`writer ${won[0]!.i}`);
        expect(record?.version).toBe(won[0]!.v);
      }
    },
  },
  {
    concern,
    name: "racing putIfVersion from one version: exactly one wins, the others get ERR_METADATA_CONFLICT",
    unsupported: needsConditional,
    async run({ store, reopen }, { racers }) {
      const stores = await racingStores(store, reopen);
      let version = await store.putIfAbsent("tags", bytes("start"));
      for (let round = 0; round < 2; round++) {
        const from = version;
        const { won, lost } = await settle(
          Array.from({ length: racers }, (_, i) =>
            stores[i % stores.length]!.putIfVersion("tags", bytes(`round ${round} writer ${i}`), from).then((v) => ({ i, v })),
          ),
        );
        expect(won.length, `winners of round ${round}`).toBe(1);
        expectConflicts(lost);
        expect(await textAt(store, "tags")).toBe(`round ${round} writer ${won[0]!.i}`);
        version = won[0]!.v;
        expect((await store.get("tags"))?.version).toBe(version);
      }
    },
  },
  {
    concern,
    name: "concurrent updates of one counter lose no increment",
    timeout: 120_000,
    unsupported: needsConditional,
    async run({ store, reopen }, { updaters, increments }) {
      const stores = await racingStores(store, reopen);
      const increment = (data: Uint8Array | undefined) => bytes(String(Number(textOf(data) ?? "0") + 1));
      await Promise.all(
        Array.from({ length: updaters }, async (_, i) => {
          for (let n = 0; n < increments; n++) await update(stores[i % stores.length]!, "counter", increment, { retries: 1000 });
        }),
      );
      expect(await textAt(store, "counter")).toBe(String(updaters * increments));
    },
  },
  {
    concern,
    name: "a versioned delete racing versioned writes from the same version: exactly one wins",
    unsupported: needsConditional,
    async run({ store, reopen }, { racers }) {
      const stores = await racingStores(store, reopen);
      const from = await store.putIfAbsent("lease", bytes("host-a"));
      const writers = Math.max(1, racers - 1);
      const { won, lost } = await settle<string>([
        stores[0]!.delete("lease", { ifVersion: from }).then(() => "delete"),
        ...Array.from({ length: writers }, (_, i) => stores[(i + 1) % stores.length]!.putIfVersion("lease", bytes(`host ${i}`), from).then(() => `host ${i}`)),
      ]);
      expect(won.length).toBe(1);
      expectConflicts(lost);
      if (won[0] === "delete") expect(await store.get("lease")).toBeUndefined();
      else expect(await textAt(store, "lease")).toBe(won[0]);
    },
  },
  {
    concern,
    name: "update creates a missing record, leaves it alone when fn returns undefined, and returns what it left",
    unsupported: needsConditional,
    async run({ store }) {
      const created = await update(store, "doc", () => bytes("v1"));
      expect(textOf(created?.data)).toBe("v1");
      expect((await store.get("doc"))?.version).toBe(created?.version);
      const kept = await update(store, "doc", () => undefined);
      expect(kept?.version).toBe(created?.version);
      expect(await update(store, "absent", () => undefined)).toBeUndefined();
      expect(await store.get("absent")).toBeUndefined();
    },
  },
];
