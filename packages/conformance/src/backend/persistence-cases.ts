import { BackendErrorCode } from "@store/backend";
import { expect } from "vitest";
import { expectBytes, sample, sortedIds, text, walked } from "../support/content";
import { expectStoreError } from "../support/expect-store-error";
import { generatedDigest, generatedStream } from "../support/generated-stream";
import { contentPath, needsDriver } from "../support/raw-access";
import type { BackendCase, BackendFixture } from "./backend-fixture";

const concern = "persistence";

function unsupported(fixture: BackendFixture): string | undefined {
  if (!fixture.backend.capabilities.persistent) return "the backend is not persistent (capabilities.persistent is false)";
  if (!fixture.reopen) return "the factory gives no reopen()";
  return undefined;
}

/** For backends declaring `persistent`: what was stored survives close and reopen. */
export const persistenceCases: readonly BackendCase[] = [
  {
    concern,
    name: "content and metadata survive close and reopen",
    unsupported,
    async run({ backend, reopen }) {
      const ids = [await backend.set(sample(1)), await backend.set(sample(2))];
      await backend.setMetadata(ids[1]!, "parent", text(ids[0]!.toString()));
      const shape = { size: 1 << 20, seed: 21 };
      const streamed = await backend.setStream(generatedStream(shape));
      await backend.close();

      const again = await reopen!();
      expect(await walked(again)).toEqual(sortedIds([...ids, streamed]));
      expectBytes(await again.get(ids[0]!), sample(1));
      expectBytes(await again.getMetadata(ids[1]!, "parent"), text(ids[0]!.toString()));
      expect(streamed.toString()).toBe((await generatedDigest(shape)).toString());
    },
  },
  {
    concern,
    name: "deletions survive close and reopen",
    unsupported,
    async run({ backend, reopen }) {
      const kept = await backend.set(sample("kept"));
      const gone = await backend.set(sample("gone"));
      await backend.setMetadata(gone, "parent", text("x"));
      await backend.delete(gone);
      await backend.close();

      const again = await reopen!();
      expect(await walked(again)).toEqual([kept.toString()]);
      await expectStoreError(again.get(gone), BackendErrorCode.NotFound, [gone.toString()]);
    },
  },
  {
    concern,
    name: "a reopened backend still refuses content tampered while it was closed",
    unsupported: (fixture) => unsupported(fixture) ?? needsDriver(fixture),
    async run({ backend, reopen, driver }) {
      const id = await backend.set(sample("original"));
      await backend.close();
      const again = await reopen!();
      await driver!.write(contentPath(id), sample("tampered"));
      await again.close();
      const third = await reopen!();
      await expectStoreError(third.get(id), BackendErrorCode.VerificationFailed, [id.toString()]);
    },
  },
];
