import { algorithms, digestFromBytes } from "@store/digest";
import { StoreError, isStoreError } from "@store/errors";
import { describe, expect, test } from "vitest";
import { BackendErrorCode, contentKey, createBackend, metadataKey } from "../src/index";
import { metadataPrefix } from "../src/keys";
import { MapDriver, type MapDriverCapabilities } from "@store/test-support";

const encoder = new TextEncoder();
const bytes = (text: string) => encoder.encode(text);

async function failure(action: Promise<unknown>): Promise<StoreError> {
  const error = await action.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isStoreError(error)) throw new Error(`expected a StoreError, got ${String(error)}`);
  return error;
}

function setup(capabilities?: MapDriverCapabilities) {
  const driver = new MapDriver({ name: "recording", ...(capabilities ? { capabilities } : {}) });
  return { driver, backend: createBackend(driver) };
}

describe("createBackend", () => {
  test("capabilities default to none and take what the driver declares", () => {
    expect(setup().backend.capabilities).toEqual({ persistent: false, shared: false, conditionalCreate: false });
    expect(setup({ persistent: true }).backend.capabilities).toEqual({ persistent: true, shared: false, conditionalCreate: false });
    expect(setup().backend.name).toBe("recording");
  });

  describe("errors name what they concern", () => {
    test("content not found names the digest", async () => {
      const { backend } = setup();
      const id = digestFromBytes("absent");
      const error = await failure(backend.get(id));
      expect(error.code).toBe(BackendErrorCode.NotFound);
      expect(error.message).toBe(`content ${id}: not found`);
      expect(error.details).toEqual({ digest: id.toString() });
    });

    test("metadata not found names the digest and the key", async () => {
      const { backend } = setup();
      const id = await backend.set(bytes("config"));
      const error = await failure(backend.getMetadata(id, "parent"));
      expect(error.code).toBe(BackendErrorCode.NotFound);
      expect(error.message).toContain(id.toString());
      expect(error.message).toContain('"parent"');
      expect(error.details).toEqual({ digest: id.toString(), key: "parent" });
    });

    test("an invalid key names the key, and the driver is never called", async () => {
      const { backend, driver } = setup();
      const id = await backend.set(bytes("config"));
      driver.calls.length = 0;
      const error = await failure(backend.setMetadata(id, "../escape", bytes("x")));
      expect(error.code).toBe(BackendErrorCode.InvalidKey);
      expect(error.message).toContain('"../escape"');
      expect(error.details).toEqual({ key: "../escape" });
      expect(driver.calls).toEqual([]);
    });

    test("verification failure names the digest and what the bytes hash to", async () => {
      const { backend, driver } = setup();
      const id = await backend.set(bytes("original"));
      driver.put(contentKey(id), bytes("tampered"));
      const error = await failure(backend.get(id));
      expect(error.code).toBe(BackendErrorCode.VerificationFailed);
      expect(error.message).toContain(id.toString());
      expect(error.details).toMatchObject({ digest: id.toString(), actual: digestFromBytes("tampered").toString() });
    });
  });

  describe("ERR_BACKEND_IO wraps driver failures", () => {
    const diskFailure = Object.assign(new Error("EIO: i/o error, read"), { code: "EIO" });

    test.each([
      ["get", "read"],
      ["has", "stat"],
      ["info", "stat"],
    ] as const)("%s: a failing %s names the key and keeps the cause", async (method, primitive) => {
      const { backend, driver } = setup();
      const id = await backend.set(bytes("config"));
      driver.failures.set(primitive, diskFailure);
      const error = await failure(backend[method](id));
      expect(error.code).toBe(BackendErrorCode.Io);
      expect(error.message).toContain(contentKey(id));
      expect(error.message).toContain("EIO");
      expect(error.cause).toBe(diskFailure);
      expect(error.details).toMatchObject({ key: contentKey(id) });
    });

    test("set: a failing write", async () => {
      const { backend, driver } = setup();
      driver.failures.set("write", diskFailure);
      const error = await failure(backend.set(bytes("config")));
      expect(error.code).toBe(BackendErrorCode.Io);
      expect(error.message).toContain(contentKey(digestFromBytes("config")));
    });

    test("setMetadata: a failing write names the metadata key", async () => {
      const { backend, driver } = setup();
      const id = await backend.set(bytes("config"));
      driver.failures.set("write", diskFailure);
      const error = await failure(backend.setMetadata(id, "parent", bytes("x")));
      expect(error.code).toBe(BackendErrorCode.Io);
      expect(error.message).toContain(metadataKey(id, "parent"));
    });

    test("walk: a failing listing, while the callback's own errors pass through unwrapped", async () => {
      const { backend, driver } = setup();
      await backend.set(bytes("config"));
      driver.failures.set("list", diskFailure);
      const error = await failure(backend.walk(() => undefined));
      expect(error.code).toBe(BackendErrorCode.Io);
      expect(error.message).toContain("content");
      const own = new Error("mine");
      await expect(backend.walk(() => Promise.reject(own))).rejects.toBe(own);
    });

    test("getStream: a failure mid-stream", async () => {
      const { backend, driver } = setup();
      const id = await backend.set(bytes("config"));
      driver.failures.set("readStream.next", diskFailure);
      const stream = await backend.getStream(id);
      const error = await failure(
        (async () => {
          for await (const _ of stream) void _;
        })(),
      );
      expect(error.code).toBe(BackendErrorCode.Io);
      expect(error.message).toContain(contentKey(id));
      expect(error.cause).toBe(diskFailure);
    });

    test("setStream: a failing commit is wrapped and the staged content aborted", async () => {
      const { backend, driver } = setup();
      driver.failures.set("commit", diskFailure);
      const error = await failure(backend.setStream([bytes("config")]));
      expect(error.code).toBe(BackendErrorCode.Io);
      expect(driver.calls.at(-1)).toBe("abort ");
      expect(driver.objects.size).toBe(0);
    });

    test("a StoreError thrown by a driver passes through as is", async () => {
      const { backend, driver } = setup();
      const own = new StoreError("ERR_DRIVER_SPECIFIC", "the driver's own error");
      driver.failures.set("read", own);
      await expect(backend.get(digestFromBytes("x"))).rejects.toBe(own);
    });
  });

  describe("a closed backend refuses", () => {
    test("every operation, without calling the driver; close is idempotent and closes the driver once", async () => {
      const { backend, driver } = setup();
      const id = await backend.set(bytes("config"));
      await backend.close();
      await backend.close();
      expect(driver.closed).toBe(1);
      driver.calls.length = 0;
      const attempts: Promise<unknown>[] = [
        backend.get(id),
        backend.has(id),
        backend.info(id),
        backend.walkMetadata("parent", () => undefined),
        backend.set(bytes("more")),
        backend.delete(id),
        backend.walk(() => undefined),
        backend.setMetadata(id, "parent", bytes("x")),
        backend.getMetadata(id, "parent"),
        backend.deleteMetadata(id, "parent"),
        backend.getStream(id),
        backend.setStream([bytes("more")]),
      ];
      for (const attempt of attempts) {
        const error = await failure(attempt);
        expect(error.code).toBe(BackendErrorCode.Closed);
        expect(error.message).toContain("recording");
      }
      expect(driver.calls).toEqual([]);
    });
  });

  describe("the driver calls it makes", () => {
    test("set does not rewrite intact content, and rewrites corrupted content", async () => {
      const { backend, driver } = setup();
      const id = await backend.set(bytes("config"));
      driver.calls.length = 0;
      await backend.set(bytes("config"));
      expect(driver.calls).toEqual([`read ${contentKey(id)}`]);
      driver.put(contentKey(id), bytes("corrupt"));
      driver.calls.length = 0;
      await backend.set(bytes("config"));
      // Content writes are create-only, so the corrupted object goes first.
      expect(driver.calls).toEqual([`read ${contentKey(id)}`, `remove ${contentKey(id)}`, `write ${contentKey(id)} ifAbsent`]);
      expect(Buffer.from(await backend.get(id)).toString()).toBe("config");
    });

    test("delete removes the metadata prefix before the content, as dockerd does", async () => {
      const { backend, driver } = setup();
      const id = await backend.set(bytes("config"));
      driver.calls.length = 0;
      await backend.delete(id);
      expect(driver.calls).toEqual([`removePrefix ${metadataPrefix(id)}`, `remove ${contentKey(id)}`]);
    });

    test("setStream with an expected digest stages toward its key and commits there", async () => {
      const { backend, driver } = setup();
      const id = digestFromBytes("config");
      await backend.setStream([bytes("config")], { expected: id });
      expect(driver.calls).toEqual([`stat ${contentKey(id)}`, `stage ${contentKey(id)}`, `commit ${contentKey(id)} ifAbsent`]);
    });

    test("setStream commits create-only, so content that appeared meanwhile is kept, not replaced", async () => {
      const { backend, driver } = setup();
      const id = digestFromBytes("config");
      const theirs = bytes("config");
      let placed: Uint8Array[] | undefined;
      async function* racing() {
        yield bytes("con");
        driver.put(contentKey(id), theirs); // another writer finished first
        placed = driver.objects.get(contentKey(id));
        yield bytes("fig");
      }
      expect((await backend.setStream(racing())).toString()).toBe(id.toString());
      expect(driver.calls.at(-1)).toBe(`commit ${contentKey(id)} ifAbsent`);
      expect(driver.objects.get(contentKey(id))).toBe(placed);
    });

    test("content writes are create-only; metadata writes replace", async () => {
      const { backend, driver } = setup();
      const id = await backend.set(bytes("config"));
      await backend.setMetadata(id, "lastUpdated", bytes("now"));
      expect(driver.calls.filter((c) => c.startsWith("write"))).toEqual([`write ${contentKey(id)} ifAbsent`, `write ${metadataKey(id, "lastUpdated")}`]);
    });

    test("info stats without reading", async () => {
      const { backend, driver } = setup();
      const id = await backend.set(bytes("config"));
      driver.calls.length = 0;
      expect(await backend.info(id.toString())).toEqual({ digest: id, size: 6 });
      expect(await backend.info(digestFromBytes("absent"))).toBeUndefined();
      expect(driver.calls).toEqual([`stat ${contentKey(id)}`, `stat ${contentKey(digestFromBytes("absent"))}`]);
    });

    test("a walk by encoded prefix hands the prefix to the driver as a listing hint", async () => {
      const { backend, driver } = setup();
      const ids = [await backend.set(bytes("b")), await backend.set(bytes("a")), await backend.set(bytes("c"))];
      const wanted = ids[0]!.encoded.slice(0, 3);
      driver.calls.length = 0;
      const seen: string[] = [];
      await backend.walk((id) => void seen.push(id.toString()), { encodedPrefix: wanted });
      expect(seen).toEqual(ids.filter((id) => id.encoded.startsWith(wanted)).map(String));
      expect(driver.calls).toEqual(["list content", `list(${wanted}) content/sha256`]);
    });

    test("walkMetadata lists once per algorithm and reads only the key asked for, of owners only", async () => {
      const { backend, driver } = setup();
      const plain = await backend.set(bytes("plain"));
      const child = await backend.set(bytes("child"));
      const other = await backend.set(bytes("other"));
      await backend.setMetadata(child, "parent", bytes(plain.toString()));
      await backend.setMetadata(other, "lastUpdated", bytes("now"));
      driver.calls.length = 0;
      const seen: [string, string][] = [];
      await backend.walkMetadata("parent", (id, value) => void seen.push([id.toString(), Buffer.from(value).toString()]));
      expect(seen).toEqual([[child.toString(), plain.toString()]]);
      expect(driver.calls.filter((c) => c.startsWith("list"))).toEqual(algorithms.map((a) => `list metadata/${a}`).sort());
      expect(driver.calls.filter((c) => c.startsWith("read")).sort()).toEqual(
        [`read ${metadataKey(child, "parent")}`, `read ${metadataKey(other, "parent")}`].sort(),
      );
    });

    test("walk lists only registered algorithms and hands out digests sorted", async () => {
      const { backend, driver } = setup();
      const ids = [await backend.set(bytes("b")), await backend.set(bytes("a")), await backend.set(bytes("c"))];
      driver.put("content/md5/0123456789abcdef0123456789abcdef", bytes("stray"));
      const seen: string[] = [];
      await backend.walk((id) => void seen.push(id.toString()));
      expect(seen).toEqual(ids.map(String).sort());
      expect(driver.calls.filter((c) => c.startsWith("list"))).toEqual(["list content", "list content/sha256"]);
    });
  });
});
