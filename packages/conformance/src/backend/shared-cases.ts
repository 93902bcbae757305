import { expect } from "vitest";
import { expectBytes, sample, walked } from "../support/content";
import { generatedDigest, generatedStream } from "../support/generated-stream";
import type { BackendCase, BackendFixture } from "./backend-fixture";

const concern = "shared";

function needsShared(fixture: BackendFixture): string | undefined {
  if (!fixture.backend.capabilities.shared) return "the backend is not shared (capabilities.shared is false)";
  if (!fixture.reopen) return "the factory gives no reopen() to open a second backend on the same location";
  return undefined;
}

/** For backends declaring `shared`: two backends open on one location at once, as two hosts. */
export const sharedCases: readonly BackendCase[] = [
  {
    concern,
    name: "a second backend open on the same location sees what the first publishes, and the reverse",
    unsupported: needsShared,
    async run({ backend, reopen }) {
      const other = await reopen!();
      const a = await backend.set(sample("from a"));
      const b = await other.set(sample("from b"));
      expectBytes(await other.get(a), sample("from a"));
      expectBytes(await backend.get(b), sample("from b"));
      await other.setMetadata(a, "parent", sample("p"));
      expectBytes(await backend.getMetadata(a, "parent"), sample("p"));
      await backend.delete(b);
      expect(await other.has(b)).toBe(false);
      expect(await walked(other)).toEqual([a.toString()]);
    },
  },
  {
    concern,
    name: "racing setStreams of one digest from two backends store it once",
    timeout: 120_000,
    unsupported: needsShared,
    async run({ backend, reopen }) {
      const other = await reopen!();
      const shape = { size: 12 << 20, chunkSize: 256 * 1024, seed: 71, yieldEvery: true };
      const expected = await generatedDigest(shape);
      const ids = await Promise.all([
        backend.setStream(generatedStream(shape), { expected }),
        other.setStream(generatedStream(shape), { expected }),
        other.setStream(generatedStream(shape)),
      ]);
      for (const id of ids) expect(id.toString()).toBe(expected.toString());
      expect(await walked(backend)).toEqual([expected.toString()]);
      expect(await walked(other)).toEqual([expected.toString()]);
      expect(await other.info(expected)).toMatchObject({ digest: expected, size: shape.size });
      // One object, not one per backend: deleting it through one is seen through the other.
      await backend.delete(expected);
      expect(await other.has(expected)).toBe(false);
    },
  },
];
