import { BackendErrorCode } from "@store/backend";
import { digestFromBytes } from "@store/digest";
import { expect } from "vitest";
import { sample, text } from "../support/content";
import { expectStoreError } from "../support/expect-store-error";
import type { BackendCase } from "./backend-fixture";

const concern = "close";

/** close(): idempotent, and a closed backend refuses every operation. */
export const closeCases: readonly BackendCase[] = [
  {
    concern,
    name: "declares its capabilities as booleans",
    async run({ backend }) {
      const { persistent, shared, conditionalCreate } = backend.capabilities;
      for (const value of [persistent, shared, conditionalCreate]) expect(typeof value).toBe("boolean");
      expect(typeof backend.name).toBe("string");
    },
  },
  {
    concern,
    name: "close is idempotent",
    async run({ backend }) {
      await backend.close();
      await backend.close();
    },
  },
  {
    concern,
    name: "a closed backend refuses every operation with ERR_BACKEND_CLOSED",
    async run({ backend }) {
      const id = await backend.set(sample("before close"));
      const other = digestFromBytes(sample("other"));
      await backend.close();
      const closed = BackendErrorCode.Closed;
      await expectStoreError(backend.get(id), closed);
      await expectStoreError(backend.set(sample("after close")), closed);
      await expectStoreError(backend.has(id), closed);
      await expectStoreError(backend.info(id), closed);
      await expectStoreError(
        backend.walkMetadata("parent", () => undefined),
        closed,
      );
      await expectStoreError(backend.delete(id), closed);
      await expectStoreError(
        backend.walk(() => undefined),
        closed,
      );
      await expectStoreError(backend.setMetadata(id, "parent", text("x")), closed);
      await expectStoreError(backend.getMetadata(id, "parent"), closed);
      await expectStoreError(backend.deleteMetadata(id, "parent"), closed);
      await expectStoreError(backend.getStream(id), closed);
      await expectStoreError(backend.setStream([sample("streamed")]), closed);
      await expectStoreError(backend.setStream([sample("other")], { expected: other }), closed);
    },
  },
];
