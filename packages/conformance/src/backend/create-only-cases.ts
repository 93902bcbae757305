import { digestFromBytes } from "@store/digest";
import { expect } from "vitest";
import { expectBytes, sample } from "../support/content";
import { generatedStream } from "../support/generated-stream";
import { contentPath, needsDriver } from "../support/raw-access";
import type { BackendCase, BackendFixture } from "./backend-fixture";

const concern = "create-only";

/** Racing creators: only a medium that refuses a taken name itself can name exactly one. */
function needsConditionalCreate(fixture: BackendFixture): string | undefined {
  if (!fixture.backend.capabilities.conditionalCreate) return "the medium does not enforce create-only writes (capabilities.conditionalCreate is false)";
  return needsDriver(fixture);
}

/**
 * The driver's create-only intent (`{ ifAbsent: true }`), which every content write states:
 * an existing object is left alone and the write says it did not create.
 */
export const createOnlyCases: readonly BackendCase[] = [
  {
    concern,
    name: "a create-only write or commit leaves an existing object alone and reports it did not create",
    unsupported: needsDriver,
    async run({ backend, driver }) {
      const id = await backend.set(sample("first"));
      const key = contentPath(id);
      expect(await driver!.write(key, sample("intruder"), { ifAbsent: true })).toBe(false);
      const staged = await driver!.stage(generatedStream({ size: 1 << 20, seed: 61 }));
      expect(await staged.commit(key, { ifAbsent: true })).toBe(false);
      await staged.abort(); // safe after a commit that did not create
      expectBytes(await backend.get(id), sample("first"));
      const fresh = contentPath(digestFromBytes(sample("fresh")));
      expect(await driver!.write(fresh, sample("fresh"), { ifAbsent: true })).toBe(true);
      // A plain write replaces (metadata is written so).
      expect(await driver!.write(key, sample("first"))).toBe(true);
    },
  },
  {
    concern,
    name: "of racing create-only writes of one key, exactly one reports it created",
    unsupported: needsConditionalCreate,
    async run({ backend, driver }) {
      const data = sample("raced");
      const key = contentPath(digestFromBytes(data));
      const writes = await Promise.all(Array.from({ length: 8 }, () => driver!.write(key, data, { ifAbsent: true })));
      expect(writes.filter(Boolean)).toHaveLength(1);
      const shape = { size: 2 << 20, chunkSize: 64 * 1024, seed: 62, yieldEvery: true };
      const streamedKey = contentPath(digestFromBytes(sample("streamed key")));
      const staged = await Promise.all(Array.from({ length: 4 }, () => driver!.stage(generatedStream(shape))));
      const commits = await Promise.all(staged.map((s) => s.commit(streamedKey, { ifAbsent: true })));
      expect(commits.filter(Boolean)).toHaveLength(1);
      expectBytes(await backend.get(digestFromBytes(data)), data);
    },
  },
];
