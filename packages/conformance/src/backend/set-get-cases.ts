import { contentPath, needsDriver } from "../support/raw-access";
import { BackendErrorCode } from "@store/backend";
import { algorithms, digestFromBytes, parseDigest } from "@store/digest";
import { expect } from "vitest";
import { collect, expectBytes, sample, text, walked } from "../support/content";
import { expectStoreError } from "../support/expect-store-error";
import type { BackendCase } from "./backend-fixture";

const concern = "set and get";

// moby's image store test vector: these config bytes have this id.
const mobyConfig = text('{"comment": "abc", "rootfs": {"type": "layers", "diff_ids": ["2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"]}}');
const mobyId = "sha256:8d25a9c45df515f9d0fe8e4a6b1c64dd3b965a84790ddbcc7954bb9bc89eb993";

/** set/get/has/delete of small content: named by its digest, verified on every read. */
export const setGetCases: readonly BackendCase[] = [
  {
    concern,
    name: "set names content by the sha256 of its bytes and get returns them",
    async run({ backend }) {
      const id = await backend.set(mobyConfig);
      expect(id.toString()).toBe(mobyId);
      expectBytes(await backend.get(id), mobyConfig);
      expect(await backend.has(id)).toBe(true);
    },
  },
  {
    concern,
    name: "set is idempotent",
    async run({ backend }) {
      const first = await backend.set(sample(1));
      const second = await backend.set(sample(1));
      expect(second.toString()).toBe(first.toString());
      expect(await walked(backend)).toEqual([first.toString()]);
      expectBytes(await backend.get(first), sample(1));
    },
  },
  {
    concern,
    name: "set names content by another registered algorithm when asked",
    unsupported: () => (algorithms.length > 1 ? undefined : "only sha256 is registered"),
    async run({ backend }) {
      for (const algorithm of algorithms) {
        const id = await backend.set(sample(algorithm), algorithm);
        expect(id.toString()).toBe(digestFromBytes(sample(algorithm), algorithm).toString());
        expectBytes(await backend.get(id), sample(algorithm));
      }
    },
  },
  {
    concern,
    name: "empty content is refused and nothing is stored",
    async run({ backend }) {
      await expectStoreError(backend.set(new Uint8Array(0)), BackendErrorCode.EmptyContent);
      expect(await backend.has(digestFromBytes(new Uint8Array(0)))).toBe(false);
      expect(await walked(backend)).toEqual([]);
    },
  },
  {
    concern,
    name: "missing content is not found, naming the digest",
    async run({ backend }) {
      const id = digestFromBytes(sample("absent"));
      expect(await backend.has(id)).toBe(false);
      await expectStoreError(backend.get(id), BackendErrorCode.NotFound, [id.toString()]);
      await expectStoreError(backend.getStream(id), BackendErrorCode.NotFound, [id.toString()]);
    },
  },
  {
    concern,
    name: "tampered content is refused by get, naming the digest",
    unsupported: needsDriver,
    async run({ backend, driver }) {
      const id = await backend.set(sample("original"));
      await driver!.write(contentPath(id), sample("tampered"));
      await expectStoreError(backend.get(id), BackendErrorCode.VerificationFailed, [id.toString()]);
      expect(await backend.has(id)).toBe(true);
    },
  },
  {
    concern,
    name: "tampered content fails getStream at its end, after the bytes",
    unsupported: needsDriver,
    async run({ backend, driver }) {
      const id = await backend.set(sample("original"));
      await driver!.write(contentPath(id), sample("tampered"));
      const stream = await backend.getStream(id);
      let received = 0;
      await expectStoreError(
        (async () => {
          for await (const chunk of stream) received += chunk.byteLength;
        })(),
        BackendErrorCode.VerificationFailed,
        [id.toString()],
      );
      // Verified as it flows: the error comes once every byte was seen, not before.
      expect(received).toBe(sample("tampered").byteLength);
    },
  },
  {
    concern,
    name: "content truncated or emptied behind the backend's back is refused",
    unsupported: needsDriver,
    async run({ backend, driver }) {
      const id = await backend.set(sample("whole"));
      await driver!.write(contentPath(id), sample("whole").subarray(0, 10));
      await expectStoreError(backend.get(id), BackendErrorCode.VerificationFailed, [id.toString()]);
      await driver!.write(contentPath(id), new Uint8Array(0));
      await expectStoreError(backend.get(id), BackendErrorCode.VerificationFailed, [id.toString()]);
      await expectStoreError(collect(await backend.getStream(id)), BackendErrorCode.VerificationFailed, [id.toString()]);
    },
  },
  {
    concern,
    name: "setting tampered content again heals it, as dockerd's Set does",
    unsupported: needsDriver,
    async run({ backend, driver }) {
      const id = await backend.set(sample("original"));
      await driver!.write(contentPath(id), sample("tampered"));
      expect((await backend.set(sample("original"))).toString()).toBe(id.toString());
      expectBytes(await backend.get(id), sample("original"));
    },
  },
  {
    concern,
    name: "getStream returns the bytes set stored",
    async run({ backend }) {
      const id = await backend.set(mobyConfig);
      expectBytes(await collect(await backend.getStream(id)), mobyConfig);
    },
  },
  {
    concern,
    name: "delete removes content; deleting missing content is not an error",
    async run({ backend }) {
      const id = await backend.set(sample("doomed"));
      const kept = await backend.set(sample("kept"));
      await backend.delete(id);
      expect(await backend.has(id)).toBe(false);
      await expectStoreError(backend.get(id), BackendErrorCode.NotFound, [id.toString()]);
      await backend.delete(id);
      await backend.delete(parseDigest(`sha256:${"0".repeat(64)}`));
      expectBytes(await backend.get(kept), sample("kept"));
    },
  },
];
