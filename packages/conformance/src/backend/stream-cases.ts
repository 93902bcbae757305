import { BackendErrorCode } from "@store/backend";
import { createHasher, digestFromBytes } from "@store/digest";
import { expect } from "vitest";
import { collect, expectBytes, sample, walked } from "../support/content";
import { expectStoreError } from "../support/expect-store-error";
import { failingStream, generatedDigest, generatedStream } from "../support/generated-stream";
import { MemoryProbe } from "../support/memory-probe";
import type { BackendCase } from "./backend-fixture";

const concern = "streams";
const MiB = 1 << 20;
// How often the memory probe samples, in bytes streamed.
const sampleEvery = 8 * MiB;

/** Asserts nothing at all was stored: no content to walk. */
async function expectEmpty(backend: Parameters<BackendCase["run"]>[0]["backend"]): Promise<void> {
  expect(await walked(backend)).toEqual([]);
}

/** setStream/getStream: large content in and out with bounded memory; bad input stores nothing. */
export const streamCases: readonly BackendCase[] = [
  {
    concern,
    name: "streams large content in and out without holding it whole",
    timeout: 180_000,
    async run({ backend }, { streamSize }) {
      const shape = { size: streamSize, chunkSize: MiB, seed: 7 };
      const expected = await generatedDigest(shape);
      const probe = new MemoryProbe();
      // Memory the backend holds beyond what it keeps as its storage: peak while streaming in,
      // less what stays held afterwards (an in-memory backend keeps the content itself, once).
      const bound = streamSize / 4;

      await probe.start();
      let next = sampleEvery;
      const id = await backend.setStream(
        generatedStream({
          ...shape,
          async onChunk(produced) {
            if (produced >= next) {
              next += sampleEvery;
              await probe.sample();
            }
          },
        }),
      );
      const writePeak = probe.peak;
      const retained = await probe.retained();
      expect(id.toString()).toBe(expected.toString());
      if (probe.available) {
        expect(writePeak - Math.max(0, retained), `held ${writePeak} bytes at peak while streaming ${streamSize} in`).toBeLessThan(bound);
      }

      await probe.start();
      const hasher = createHasher(id.algorithm);
      let size = 0;
      next = sampleEvery;
      for await (const chunk of await backend.getStream(id)) {
        hasher.update(chunk);
        size += chunk.byteLength;
        if (size >= next) {
          next += sampleEvery;
          await probe.sample();
        }
      }
      expect(size).toBe(streamSize);
      expect(hasher.digest().toString()).toBe(expected.toString());
      if (probe.available) {
        expect(probe.peak, `held ${probe.peak} bytes at peak while streaming ${streamSize} out`).toBeLessThan(bound);
      }
      expect(await backend.has(id)).toBe(true);
    },
  },
  {
    concern,
    name: "setStream with the expected digest and size stores the content",
    async run({ backend }) {
      const shape = { size: 3 * MiB + 17, chunkSize: 256 * 1024, seed: 3 };
      const expected = await generatedDigest(shape);
      const id = await backend.setStream(generatedStream(shape), { expected, size: shape.size });
      expect(id.toString()).toBe(expected.toString());
      expect(await walked(backend)).toEqual([expected.toString()]);
      expect((await collect(await backend.getStream(id))).byteLength).toBe(shape.size);
    },
  },
  {
    concern,
    name: "setStream accepts any byte source (arrays of chunks, strings) and matches set",
    async run({ backend }) {
      const bytes = sample("chunks");
      const id = await backend.setStream([bytes.subarray(0, 5), bytes.subarray(5)]);
      expect(id.toString()).toBe(digestFromBytes(bytes).toString());
      const fromString = await backend.setStream(["hello ", "world"]);
      expect(fromString.toString()).toBe(digestFromBytes("hello world").toString());
      expectBytes(await backend.get(fromString), new TextEncoder().encode("hello world"));
      expect((await backend.set(bytes)).toString()).toBe(id.toString());
    },
  },
  {
    concern,
    name: "a wrong expected digest is refused and nothing is stored",
    async run({ backend }) {
      const shape = { size: 2 * MiB, chunkSize: 128 * 1024, seed: 5 };
      const actual = await generatedDigest(shape);
      const wrong = digestFromBytes(sample("something else"));
      await expectStoreError(backend.setStream(generatedStream(shape), { expected: wrong }), BackendErrorCode.ContentMismatch, [wrong.toString()]);
      expect(await backend.has(wrong)).toBe(false);
      expect(await backend.has(actual)).toBe(false);
      await expectEmpty(backend);
    },
  },
  {
    concern,
    name: "a wrong size is refused and nothing is stored (with or without an expected digest)",
    async run({ backend }) {
      const shape = { size: MiB + 1, chunkSize: 64 * 1024, seed: 6 };
      const expected = await generatedDigest(shape);
      for (const size of [shape.size - 1, shape.size + 1]) {
        await expectStoreError(backend.setStream(generatedStream(shape), { expected, size }), BackendErrorCode.ContentMismatch);
        await expectStoreError(backend.setStream(generatedStream(shape), { size }), BackendErrorCode.ContentMismatch);
      }
      expect(await backend.has(expected)).toBe(false);
      await expectEmpty(backend);
    },
  },
  {
    concern,
    name: "a source that fails midway fails setStream and stores nothing",
    async run({ backend }) {
      const failure = new Error("connection reset by peer");
      const error = await backend.setStream(failingStream(MiB, failure)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeDefined();
      // The source's own error, or a StoreError that keeps it as its cause.
      expect(error === failure || (error as { cause?: unknown }).cause === failure).toBe(true);
      await expectEmpty(backend);
    },
  },
  {
    concern,
    name: "empty streams are refused",
    async run({ backend }) {
      await expectStoreError(backend.setStream([]), BackendErrorCode.EmptyContent);
      await expectStoreError(backend.setStream([], { expected: digestFromBytes(new Uint8Array(0)) }), BackendErrorCode.EmptyContent);
      await expectEmpty(backend);
    },
  },
  {
    concern,
    name: "setStream of content held already still verifies what is sent, and keeps the content",
    async run({ backend }) {
      const id = await backend.set(sample("held"));
      expect((await backend.setStream([sample("held")], { expected: id })).toString()).toBe(id.toString());
      await expectStoreError(backend.setStream([sample("not it")], { expected: id }), BackendErrorCode.ContentMismatch, [id.toString()]);
      expectBytes(await backend.get(id), sample("held"));
      expect(await walked(backend)).toEqual([id.toString()]);
    },
  },
];
