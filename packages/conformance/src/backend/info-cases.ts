import { digestFromBytes } from "@store/digest";
import { expect } from "vitest";
import { sample } from "../support/content";
import { generatedDigest, generatedStream } from "../support/generated-stream";
import { contentPath, needsDriver } from "../support/raw-access";
import type { BackendCase } from "./backend-fixture";

const concern = "info";

/** info(): existence and size, from what is stored, without reading the bytes. */
export const infoCases: readonly BackendCase[] = [
  {
    concern,
    name: "info gives the size of stored content and undefined for missing content",
    async run({ backend }) {
      const small = await backend.set(sample("info"));
      expect(await backend.info(small)).toMatchObject({ digest: small, size: sample("info").byteLength });
      const shape = { size: (5 << 20) + 3, chunkSize: 1 << 20, seed: 31 };
      const big = await backend.setStream(generatedStream(shape));
      expect(big.toString()).toBe((await generatedDigest(shape)).toString());
      expect(await backend.info(big)).toMatchObject({ digest: big, size: shape.size });
      expect(await backend.info(digestFromBytes(sample("absent")))).toBeUndefined();
      await backend.delete(small);
      expect(await backend.info(small)).toBeUndefined();
    },
  },
  {
    concern,
    // Optional: a medium that records no time leaves it out. Where given, a garbage collector's
    // grace period is measured against it, so it must be the write's time, not the read's.
    name: "info's modifiedAt, when given, is when the content was stored",
    async run({ backend }) {
      const before = Date.now();
      const id = await backend.set(sample("aged"));
      const after = Date.now();
      const { modifiedAt } = (await backend.info(id))!;
      if (modifiedAt === undefined) return;
      expect(modifiedAt).toBeInstanceOf(Date);
      // S3's Last-Modified has whole seconds, and the server's clock is not ours: allow for both.
      expect(modifiedAt.getTime()).toBeGreaterThanOrEqual(before - 5_000);
      expect(modifiedAt.getTime()).toBeLessThanOrEqual(after + 5_000);
      await new Promise((r) => setTimeout(r, 20));
      expect((await backend.info(id))!.modifiedAt!.getTime()).toBe(modifiedAt.getTime());
    },
  },
  {
    concern,
    name: "info does not read or verify: tampered content reports what is stored",
    unsupported: needsDriver,
    async run({ backend, driver }) {
      const id = await backend.set(sample("original"));
      await driver!.write(contentPath(id), sample("tampered, and longer"));
      // What is there, as stat sees it; reads still refuse it (set and get cases).
      expect(await backend.info(id)).toMatchObject({ digest: id, size: sample("tampered, and longer").byteLength });
    },
  },
];
