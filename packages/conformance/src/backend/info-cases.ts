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
      expect(await backend.info(small)).toEqual({ digest: small, size: sample("info").byteLength });
      const shape = { size: (5 << 20) + 3, chunkSize: 1 << 20, seed: 31 };
      const big = await backend.setStream(generatedStream(shape));
      expect(big.toString()).toBe((await generatedDigest(shape)).toString());
      expect(await backend.info(big)).toEqual({ digest: big, size: shape.size });
      expect(await backend.info(digestFromBytes(sample("absent")))).toBeUndefined();
      await backend.delete(small);
      expect(await backend.info(small)).toBeUndefined();
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
      expect(await backend.info(id)).toEqual({ digest: id, size: sample("tampered, and longer").byteLength });
    },
  },
];
