import { expect } from "vitest";
import type { MetadataCase, MetadataFixture } from "./metadata-fixture";
import { bytes, textAt } from "./metadata-support";

const concern = "persistence";

function unsupported(fixture: MetadataFixture): string | undefined {
  if (!fixture.store.capabilities.persistent) return "the store is not persistent (capabilities.persistent is false)";
  if (!fixture.reopen) return "the factory gives no reopen()";
  return undefined;
}

/** For stores declaring `persistent`: records, their versions and deletions survive close and reopen. */
export const metadataPersistenceCases: readonly MetadataCase[] = [
  {
    concern,
    name: "records, replacements and deletions survive close and reopen, versions included",
    unsupported,
    async run({ store, reopen }) {
      await store.putIfAbsent("kept", bytes("kept"));
      const v1 = await store.putIfAbsent("replaced", bytes("old"));
      const v2 = await store.putIfVersion("replaced", bytes("new"), v1);
      await store.putIfAbsent("deleted", bytes("x"));
      await store.delete("deleted");
      await store.close();

      const again = await reopen!();
      expect(await again.list("")).toEqual(["kept", "replaced"]);
      expect(await textAt(again, "replaced")).toBe("new");
      // The version read after reopening still works for a compare-and-swap.
      expect((await again.get("replaced"))?.version).toBe(v2);
      await again.putIfVersion("replaced", bytes("newer"), v2);
      expect(await textAt(again, "replaced")).toBe("newer");
    },
  },
];
