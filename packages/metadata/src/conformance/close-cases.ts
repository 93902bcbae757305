import { MetadataErrorCode } from "../index";
import { expectStoreError } from "@store/conformance";
import type { MetadataCase } from "./metadata-fixture";
import { bytes } from "./metadata-support";

/** close() is idempotent and ends every later call with ERR_METADATA_CLOSED. */
export const metadataCloseCases: readonly MetadataCase[] = [
  {
    concern: "close",
    name: "after close every operation fails with ERR_METADATA_CLOSED, and close again is fine",
    async run({ store }) {
      const v = await store.putIfAbsent("k", bytes("x"));
      await store.close();
      await store.close();
      const code = MetadataErrorCode.Closed;
      await expectStoreError(store.get("k"), code);
      await expectStoreError(store.putIfAbsent("j", bytes("x")), code);
      await expectStoreError(store.putIfVersion("k", bytes("y"), v), code);
      await expectStoreError(store.delete("k"), code);
      await expectStoreError(store.delete("k", { ifVersion: v }), code);
      await expectStoreError(store.list(""), code);
    },
  },
];
