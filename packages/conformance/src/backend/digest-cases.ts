import { DigestErrorCode, digestFromBytes } from "@store/digest";
import { expect } from "vitest";
import { collect, expectBytes, sample, text, walked } from "../support/content";
import { expectStoreError } from "../support/expect-store-error";
import type { BackendCase } from "./backend-fixture";

const concern = "digests at the edge";

/** Texts that are not digests, each refused by name with the code that says why. */
const malformed: readonly (readonly [string, string])[] = [
  ["not a digest", DigestErrorCode.InvalidFormat],
  ["sha256", DigestErrorCode.InvalidFormat],
  [`sha256:${"A".repeat(64)}`, DigestErrorCode.InvalidFormat],
  [`sha256:${"g".repeat(64)}`, DigestErrorCode.InvalidFormat],
  ["sha256:abc", DigestErrorCode.InvalidLength],
  ["md5:0123456789abcdef0123456789abcdef", DigestErrorCode.UnsupportedAlgorithm],
];

/** Every method that takes a digest takes a Digest or its text, parsed once; bad text is refused by name. */
export const digestCases: readonly BackendCase[] = [
  {
    concern,
    name: "every method that takes a digest accepts its text as well as a Digest",
    async run({ backend }) {
      const id = await backend.set(sample("by text"));
      const name = id.toString();
      expect(await backend.has(name)).toBe(true);
      expectBytes(await backend.get(name), sample("by text"));
      expectBytes(await collect(await backend.getStream(name)), sample("by text"));
      expect(await backend.info(name)).toMatchObject({ digest: id, size: sample("by text").byteLength });
      await backend.setMetadata(name, "parent", text("p"));
      expectBytes(await backend.getMetadata(name, "parent"), text("p"));
      await backend.deleteMetadata(name, "parent");
      const streamed = sample("streamed by text");
      const expected = digestFromBytes(streamed).toString();
      expect((await backend.setStream([streamed], { expected })).toString()).toBe(expected);
      await backend.delete(name);
      expect(await backend.has(id)).toBe(false);
      expect(await walked(backend)).toEqual([expected]);
    },
  },
  {
    concern,
    name: "malformed digest text is refused (ERR_DIGEST_INVALID_FORMAT and kin) naming it, and nothing changes",
    async run({ backend }) {
      const kept = await backend.set(sample("kept"));
      await backend.setMetadata(kept, "parent", text("p"));
      for (const [bad, code] of malformed) {
        const refused = (action: Promise<unknown>) => expectStoreError(action, code, [JSON.stringify(bad)]);
        await refused(backend.get(bad));
        await refused(backend.has(bad));
        await refused(backend.info(bad));
        await refused(backend.getStream(bad));
        await refused(backend.delete(bad));
        await refused(backend.setMetadata(bad, "parent", text("x")));
        await refused(backend.getMetadata(bad, "parent"));
        await refused(backend.deleteMetadata(bad, "parent"));
        await refused(backend.setStream([sample("never stored")], { expected: bad }));
      }
      expect(await walked(backend)).toEqual([kept.toString()]);
      expectBytes(await backend.getMetadata(kept, "parent"), text("p"));
    },
  },
];
