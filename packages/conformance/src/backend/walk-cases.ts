import { contentPath, needsDriver } from "../support/raw-access";
import { BackendErrorCode } from "@store/backend";
import { type Digest, parseDigest } from "@store/digest";
import { expect } from "vitest";
import { expectBytes, sample, sortedIds, text, tick, walked } from "../support/content";
import { expectStoreError } from "../support/expect-store-error";
import type { BackendCase } from "./backend-fixture";

const concern = "walk";

/** walk: every id once, sorted; strays skipped; deletions seen; a callback error stops it. */
export const walkCases: readonly BackendCase[] = [
  {
    concern,
    name: "an empty backend walks nothing",
    async run({ backend }) {
      expect(await walked(backend)).toEqual([]);
    },
  },
  {
    concern,
    name: "walks every stored id exactly once, sorted by algorithm then hex",
    async run({ backend }) {
      const ids: Digest[] = [];
      for (let i = 0; i < 25; i++) ids.push(await backend.set(sample(i)));
      expect(await walked(backend)).toEqual(sortedIds(ids));
    },
  },
  {
    concern,
    name: "skips names that are not digests (temp files, strays, uppercase or short hex)",
    unsupported: needsDriver,
    async run({ backend, driver }) {
      const id = await backend.set(sample("real"));
      const strays = [
        "content/sha256/.tmp-x",
        `content/sha256/.tmp-${id.encoded}123`,
        "content/sha256/not-a-digest",
        `content/sha256/${id.encoded.slice(0, 63)}`,
        `content/sha256/${id.encoded.toUpperCase()}`,
        `content/sha256/${id.encoded}0`,
        "content/md5/0123456789abcdef0123456789abcdef",
      ];
      for (const key of strays) await driver!.write(key, text("stray"));
      expect(await walked(backend)).toEqual([id.toString()]);
      expectBytes(await backend.get(id), sample("real"));
    },
  },
  {
    concern,
    name: "reflects deletions",
    async run({ backend }) {
      const ids = [await backend.set(sample(1)), await backend.set(sample(2)), await backend.set(sample(3))];
      await backend.delete(ids[1]!);
      expect(await walked(backend)).toEqual(sortedIds([ids[0]!, ids[2]!]));
      await backend.delete(ids[0]!);
      await backend.delete(ids[2]!);
      expect(await walked(backend)).toEqual([]);
    },
  },
  {
    concern,
    name: "a callback error stops the walk and is rethrown as is",
    async run({ backend }) {
      for (let i = 0; i < 5; i++) await backend.set(sample(i));
      const failure = new Error("callback refused");
      let calls = 0;
      const error = await backend
        .walk(() => {
          calls++;
          throw failure;
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBe(failure);
      expect(calls).toBe(1);

      let asyncCalls = 0;
      const asyncError = await backend
        .walk(async () => {
          asyncCalls++;
          await tick();
          if (asyncCalls === 3) throw failure;
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(asyncError).toBe(failure);
      expect(asyncCalls).toBe(3);
    },
  },
  {
    concern,
    name: "awaits an async callback before the next id",
    async run({ backend }) {
      for (let i = 0; i < 4; i++) await backend.set(sample(i));
      let active = 0;
      let overlapped = false;
      await backend.walk(async () => {
        active++;
        if (active > 1) overlapped = true;
        await tick();
        active--;
      });
      expect(overlapped).toBe(false);
    },
  },
  {
    concern,
    name: "the callback may delete the content it is handed",
    async run({ backend }) {
      for (let i = 0; i < 6; i++) await backend.set(sample(i));
      const seen: string[] = [];
      await backend.walk(async (id) => {
        seen.push(id.toString());
        await backend.delete(id);
      });
      expect(seen).toHaveLength(6);
      expect(await walked(backend)).toEqual([]);
    },
  },
  {
    concern,
    name: "walks content written under dockerd's layout by the driver itself",
    unsupported: needsDriver,
    async run({ backend, driver }) {
      // Another writer (dockerd, a sync of the directory) may have put content there directly.
      const config = text('{"comment": "abc", "rootfs": {"type": "layers", "diff_ids": ["2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"]}}');
      const id = parseDigest("sha256:8d25a9c45df515f9d0fe8e4a6b1c64dd3b965a84790ddbcc7954bb9bc89eb993");
      await driver!.write(contentPath(id), config);
      expect(await walked(backend)).toEqual([id.toString()]);
      expectBytes(await backend.get(id), config);
    },
  },
  {
    concern,
    name: "a filter walks only the algorithm and hex prefix asked for, sorted",
    async run({ backend }) {
      const ids: Digest[] = [];
      for (let i = 0; i < 40; i++) ids.push(await backend.set(sample(`filtered ${i}`)));
      const seen = async (filter: Parameters<typeof backend.walk>[1]) => {
        const got: string[] = [];
        await backend.walk((id) => void got.push(id.toString()), filter);
        return got;
      };
      for (const prefix of [ids[3]!.encoded.slice(0, 1), ids[5]!.encoded.slice(0, 2), ids[9]!.encoded]) {
        expect(await seen({ encodedPrefix: prefix })).toEqual(sortedIds(ids.filter((id) => id.encoded.startsWith(prefix))));
      }
      expect(await seen({ algorithm: "sha256" })).toEqual(sortedIds(ids));
      expect(await seen({ algorithm: "sha256", encodedPrefix: "" })).toEqual(sortedIds(ids));
      expect(await seen({ encodedPrefix: ids[0]!.encoded.slice(0, 20) })).toEqual([ids[0]!.toString()]);
      expect(await seen({ algorithm: "sha512" })).toEqual([]);
    },
  },
  {
    concern,
    name: "a filter that can match no digest is refused with ERR_BACKEND_INVALID_FILTER, naming it",
    async run({ backend }) {
      await backend.set(sample("kept"));
      const never = () => {
        throw new Error("called for a refused filter");
      };
      await expectStoreError(backend.walk(never, { encodedPrefix: "ABC" }), BackendErrorCode.InvalidFilter, ['"ABC"']);
      await expectStoreError(backend.walk(never, { encodedPrefix: "../x" }), BackendErrorCode.InvalidFilter, ['"../x"']);
      await expectStoreError(backend.walk(never, { algorithm: "md5" as never }), BackendErrorCode.InvalidFilter, ['"md5"']);
      expect(await walked(backend)).toHaveLength(1);
    },
  },
];
