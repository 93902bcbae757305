import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BackendErrorCode } from "@store/backend";
import { createHasher, digestFromBytes } from "@store/digest";
import { expect } from "vitest";
import { sample, walked } from "../support/content";
import { expectStoreError } from "../support/expect-store-error";
import { failingStream, generatedDigest, generatedStream } from "../support/generated-stream";
import { contentPath, needsDriver } from "../support/raw-access";
import type { BackendCase } from "./backend-fixture";

const concern = "blobs";
const MiB = 1 << 20;

/** Reads a stream to its end, hashing: content too large to gather. */
async function hashOf(stream: AsyncIterable<Uint8Array>): Promise<{ digest: string; size: number }> {
  const hasher = createHasher("sha256");
  let size = 0;
  for await (const chunk of stream) {
    hasher.update(chunk);
    size += chunk.byteLength;
  }
  return { digest: hasher.digest().toString(), size };
}

/**
 * Layer-sized blobs (compressed layers of tens to hundreds of MB), streamed in and out as a pull,
 * a push or a load moves them: with their expected digest and size, verified on the way out,
 * leaving nothing when the source fails, and stored once when several writers race.
 */
export const blobCases: readonly BackendCase[] = [
  {
    concern,
    name: "a local file is stored as content (a pull's verified download): the file stays, a lie unverified is refused",
    async run({ backend }) {
      const dir = await mkdtemp(join(tmpdir(), "store-setfile-"));
      try {
        const bytes = randomBytes(300_000);
        const digest = digestFromBytes(bytes);
        const path = join(dir, "download");
        await writeFile(path, bytes);
        for (const verified of [true, false]) {
          expect((await backend.setFile(path, { expected: digest, size: bytes.length, verified })).toString()).toBe(digest.toString());
          expect(await hashOf(await backend.getStream(digest))).toEqual({ digest: digest.toString(), size: bytes.length });
        }
        expect((await readFile(path)).equals(Buffer.from(bytes))).toBe(true);
        const other = digestFromBytes(sample("not the file"));
        await expectStoreError(backend.setFile(path, { expected: other }), BackendErrorCode.ContentMismatch);
        expect(await backend.has(other)).toBe(false);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  },
  {
    concern,
    name: "a multi-MiB blob streams in with its expected digest and size, and out verified",
    timeout: 120_000,
    async run({ backend }, { blobSize }) {
      const shape = { size: blobSize + 17, chunkSize: 256 * 1024 + 3, seed: 51 };
      const expected = await generatedDigest(shape);
      const id = await backend.setStream(generatedStream(shape), { expected: expected.toString(), size: shape.size });
      expect(id.toString()).toBe(expected.toString());
      expect(await backend.info(expected)).toMatchObject({ digest: expected, size: shape.size });
      expect(await hashOf(await backend.getStream(expected))).toEqual({ digest: expected.toString(), size: shape.size });
      expect(await walked(backend)).toEqual([expected.toString()]);
    },
  },
  {
    concern,
    name: "a blob source failing after several MiB stores nothing, expected digest or not",
    timeout: 120_000,
    async run({ backend }, { blobSize }) {
      const failure = new Error("connection reset by peer");
      const shape = { size: blobSize, seed: 52 };
      const expected = await generatedDigest(shape);
      const before = blobSize - 2 * MiB;
      for (const options of [{ expected, size: blobSize }, {}]) {
        const error = await backend.setStream(failingStream(before, failure), options).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error === failure || (error as { cause?: unknown })?.cause === failure, `got ${String(error)}`).toBe(true);
      }
      expect(await backend.has(expected)).toBe(false);
      expect(await backend.info(expected)).toBeUndefined();
      expect(await walked(backend)).toEqual([]);
      // The store still works afterwards.
      expect((await backend.setStream(generatedStream(shape), { expected })).toString()).toBe(expected.toString());
    },
  },
  {
    concern,
    name: "a blob that does not match its expected digest is refused at its end and nothing is stored",
    timeout: 120_000,
    async run({ backend }, { blobSize }) {
      const shape = { size: blobSize, seed: 53 };
      const wrong = digestFromBytes(sample("some other blob"));
      await expectStoreError(backend.setStream(generatedStream(shape), { expected: wrong, size: blobSize }), BackendErrorCode.ContentMismatch, [
        wrong.toString(),
      ]);
      expect(await backend.has(wrong)).toBe(false);
      expect(await walked(backend)).toEqual([]);
    },
  },
  {
    concern,
    name: "concurrent setStreams of one blob all succeed and store it once",
    timeout: 180_000,
    async run({ backend }, { blobSize }) {
      const shape = { size: blobSize, chunkSize: 512 * 1024, seed: 54, yieldEvery: true };
      const expected = await generatedDigest(shape);
      const ids = await Promise.all(
        Array.from({ length: 3 }, (_, i) => backend.setStream(generatedStream(shape), i === 2 ? {} : { expected, size: shape.size })),
      );
      for (const id of ids) expect(id.toString()).toBe(expected.toString());
      expect(await walked(backend)).toEqual([expected.toString()]);
      expect(await hashOf(await backend.getStream(expected))).toEqual({ digest: expected.toString(), size: shape.size });
    },
  },
  {
    concern,
    name: "a reader that stops early leaves the blob whole and the backend working",
    timeout: 120_000,
    async run({ backend }, { blobSize }) {
      const shape = { size: blobSize, seed: 55 };
      const id = await backend.setStream(generatedStream(shape));
      let read = 0;
      for await (const chunk of await backend.getStream(id)) {
        read += chunk.byteLength;
        if (read >= MiB) break; // an aborted download
      }
      expect(await hashOf(await backend.getStream(id))).toEqual({ digest: id.toString(), size: blobSize });
      await backend.delete(id);
      expect(await walked(backend)).toEqual([]);
    },
  },
  {
    concern,
    name: "a blob corrupted in storage fails getStream at its end, after every byte",
    timeout: 120_000,
    unsupported: needsDriver,
    async run({ backend, driver }, { blobSize }) {
      const shape = { size: blobSize, seed: 56 };
      const id = await backend.setStream(generatedStream(shape));
      const other = { size: blobSize, seed: 57 };
      const staged = await driver!.stage(generatedStream(other));
      await staged.commit(contentPath(id)); // replaces: a corruption, not a create
      let received = 0;
      await expectStoreError(
        (async () => {
          for await (const chunk of await backend.getStream(id)) received += chunk.byteLength;
        })(),
        BackendErrorCode.VerificationFailed,
        [id.toString()],
      );
      expect(received).toBe(blobSize);
    },
  },
];
