import { BackendErrorCode } from "@store/backend";
import { createHasher, digestFromBytes } from "@store/digest";
import { isStoreError } from "@store/errors";
import { expect } from "vitest";
import { expectBytes, sample, sortedIds, text, tick, walked } from "../support/content";
import { generatedDigest, generatedStream } from "../support/generated-stream";
import type { BackendCase, BackendFixture } from "./backend-fixture";

const concern = "concurrency";
const MiB = 1 << 20;

/** Bytes of `size` that differ per `seed`, built in one piece (for the bytes API). */
function bulk(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let state = seed * 2654435761 || 1;
  for (let i = 0; i < size; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}

/**
 * Runs `read` over and over while `write` is under way. A failing read still waits for the
 * writer, so nothing runs on after the case has ended (and its backend was closed).
 */
async function whileWriting(write: Promise<unknown>, read: () => Promise<void>): Promise<void> {
  let writing = true;
  const writer = write.finally(() => {
    writing = false;
  });
  try {
    while (writing) await read();
  } catch (e) {
    await writer.catch(() => undefined);
    throw e;
  }
  await writer;
}

/** Cases that race readers against writers need a medium that publishes atomically. */
const racingReaders = (fixture: BackendFixture): string | undefined => fixture.notAtomic;

/** Parallel writers of the same and of different content; readers racing writers. */
export const concurrencyCases: readonly BackendCase[] = [
  {
    concern,
    name: "parallel sets of the same content all succeed and store it once",
    async run({ backend }) {
      const data = bulk(256 * 1024, 1);
      const ids = await Promise.all(Array.from({ length: 16 }, () => backend.set(data)));
      const id = digestFromBytes(data);
      for (const got of ids) expect(got.toString()).toBe(id.toString());
      expect(await walked(backend)).toEqual([id.toString()]);
      expectBytes(await backend.get(id), data);
    },
  },
  {
    concern,
    name: "parallel sets of different content all land",
    async run({ backend }) {
      const contents = Array.from({ length: 32 }, (_, i) => sample(`parallel ${i}`));
      const ids = await Promise.all(contents.map((data) => backend.set(data)));
      expect(await walked(backend)).toEqual(sortedIds(ids));
      for (const [i, id] of ids.entries()) expectBytes(await backend.get(id), contents[i]!);
    },
  },
  {
    concern,
    name: "parallel setStreams of the same content all succeed",
    async run({ backend }) {
      const shape = { size: 2 * MiB, chunkSize: 64 * 1024, seed: 11, yieldEvery: true };
      const expected = await generatedDigest(shape);
      const ids = await Promise.all(Array.from({ length: 6 }, (_, i) => backend.setStream(generatedStream(shape), i % 2 ? { expected } : {})));
      for (const id of ids) expect(id.toString()).toBe(expected.toString());
      expect(await walked(backend)).toEqual([expected.toString()]);
    },
  },
  {
    concern,
    name: "a reader racing set never sees partial content",
    unsupported: racingReaders,
    async run({ backend }) {
      const data = bulk(4 * MiB, 2);
      const id = digestFromBytes(data);
      await whileWriting(backend.set(data), async () => {
        try {
          const got = await backend.get(id);
          expect(got.byteLength).toBe(data.byteLength);
        } catch (e) {
          if (!isStoreError(e, BackendErrorCode.NotFound)) throw e;
        }
        await tick();
      });
      expectBytes(await backend.get(id), data);
    },
  },
  {
    concern,
    name: "a reader racing setStream never sees partial content",
    unsupported: racingReaders,
    timeout: 60_000,
    async run({ backend }) {
      const shape = { size: 4 * MiB, chunkSize: 32 * 1024, seed: 12, yieldEvery: true };
      const expected = await generatedDigest(shape);
      await whileWriting(backend.setStream(generatedStream(shape)), async () => {
        if (await backend.has(expected)) {
          // Visible means complete: the stream verifies to its end.
          const hasher = createHasher("sha256");
          for await (const chunk of await backend.getStream(expected)) hasher.update(chunk);
          expect(hasher.digest().toString()).toBe(expected.toString());
        }
        await tick();
      });
      expect(await backend.has(expected)).toBe(true);
    },
  },
  {
    concern,
    name: "a reader racing metadata rewrites sees one whole value or the other",
    unsupported: racingReaders,
    async run({ backend }) {
      const id = await backend.set(sample("image"));
      const short = text("2024-01-01T00:00:00Z");
      const long = bulk(MiB, 3);
      await backend.setMetadata(id, "lastUpdated", short);
      const rewrites = (async () => {
        for (let i = 0; i < 20; i++) await backend.setMetadata(id, "lastUpdated", i % 2 ? short : long);
      })();
      await whileWriting(rewrites, async () => {
        const got = await backend.getMetadata(id, "lastUpdated");
        expect([short.byteLength, long.byteLength]).toContain(got.byteLength);
        await tick();
      });
    },
  },
];
