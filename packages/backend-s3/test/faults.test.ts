import { createHash } from "node:crypto";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { BackendErrorCode, type StoreBackend, contentKey, createBackend } from "@store/backend";
import { expectStoreError, generatedDigest, generatedStream } from "@store/conformance";
import { type Digest, digestFromBytes } from "@store/digest";
import { isStoreError } from "@store/errors";
import { type S3rverPeer, startS3rver } from "@store/test-peers";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { createS3Driver } from "../src/create-s3-backend";
import type { S3Driver } from "../src/s3-driver";
import { type FaultProxy, type FaultProxyOptions, startFaultProxy } from "./fault-proxy";
import { directClient, freshPrefix, listKeys } from "./s3-fixture";

const MiB = 1 << 20;
let peer: S3rverPeer;
let direct: S3Client;
let proxy: FaultProxy | undefined;
let backends: StoreBackend[] = [];

beforeAll(async () => {
  peer = await startS3rver();
  direct = directClient(peer);
});
afterEach(async () => {
  for (const backend of backends) await backend.close();
  backends = [];
  await proxy?.close();
  proxy = undefined;
});
afterAll(async () => {
  direct?.destroy();
  await peer?.stop();
});

/** A backend whose every request goes through a fresh fault proxy. */
async function throughProxy(prefix: string, faults: FaultProxyOptions, maxAttempts = 5): Promise<StoreBackend> {
  return (await driverThroughProxy(prefix, faults, maxAttempts)).backend;
}

/** The same, with the driver under the backend for raw access. */
async function driverThroughProxy(prefix: string, faults: FaultProxyOptions, maxAttempts = 5): Promise<{ backend: StoreBackend; driver: S3Driver }> {
  proxy = await startFaultProxy(peer.endpoint, faults);
  const driver = await createS3Driver({
    bucket: peer.bucket,
    prefix,
    clientConfig: { ...peer.clientConfig, endpoint: proxy.endpoint, maxAttempts },
    partSize: 5 * MiB,
    queueSize: 3,
    conditionalCreate: faults.enforceIfNoneMatch ? undefined : false,
  });
  const backend = createBackend(driver);
  backends.push(backend);
  return { backend, driver };
}

/** Every content object under `prefix`, read straight from s3rver, hashes to its name. */
async function expectOnlyWholeContent(prefix: string): Promise<string[]> {
  const keys = await listKeys(direct, peer.bucket, prefix);
  const content = keys.filter((k) => k.startsWith(`${prefix}content/`));
  for (const key of content) {
    const r = await direct.send(new GetObjectCommand({ Bucket: peer.bucket, Key: key }));
    const hex = createHash("sha256")
      .update(await r.Body!.transformToByteArray())
      .digest("hex");
    expect(hex, `${key} holds other bytes than its name`).toBe(key.slice(key.lastIndexOf("/") + 1));
  }
  return keys;
}

/** Runs `op`; a failure must be a StoreError naming the bucket (a clean failure), never anything else. */
async function cleanly<T>(op: () => Promise<T>, failures: Error[]): Promise<T | undefined> {
  try {
    return await op();
  } catch (e) {
    if (!isStoreError(e) || (isStoreError(e, BackendErrorCode.Io) && !e.message.includes(`s3://${peer.bucket}/`))) throw e;
    failures.push(e);
    return undefined;
  }
}

describe("through a faulty network (drops, truncated bodies, 500s, 503 SlowDown, slow answers)", () => {
  test("every operation succeeds or fails cleanly, and only whole content is ever stored", async () => {
    const prefix = freshPrefix("faults");
    const backend = await throughProxy(prefix, { rate: 0.2, seed: 7 });
    const failures: Error[] = [];
    const encoder = new TextEncoder();

    const small = Array.from({ length: 40 }, (_, i) => encoder.encode(`config ${i} ${"x".repeat(i * 97)}`));
    const stored = await Promise.all(
      small.map((data) =>
        cleanly(async () => {
          const id = await backend.set(data);
          await backend.setMetadata(id, "lastUpdated", encoder.encode("2024-01-01T00:00:00Z"));
          return id;
        }, failures),
      ),
    );
    const shapes = [
      { size: 12 * MiB + 3, seed: 1 },
      { size: 11 * MiB, seed: 2 },
      { size: 16 * MiB, seed: 3 },
    ];
    const digests = await Promise.all(shapes.map((s) => generatedDigest(s)));
    const streamed = await Promise.all(
      shapes.map((shape, i) => cleanly(() => backend.setStream(generatedStream(shape), i === 2 ? { expected: digests[2] } : {}), failures)),
    );
    // A lie about the digest is refused whatever the network does, and stores nothing.
    const wrong = digestFromBytes(encoder.encode("wrong"));
    const lie = await backend.setStream(generatedStream({ size: 11 * MiB, seed: 9 }), { expected: wrong }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isStoreError(lie, [BackendErrorCode.ContentMismatch, BackendErrorCode.Io]), String(lie)).toBe(true);

    // Read back everything that was stored, through the same faults.
    for (const [i, id] of stored.entries()) {
      if (!id) continue;
      const got = await cleanly(() => backend.get(id), failures);
      if (got) expect(Buffer.from(got).equals(Buffer.from(small[i]!))).toBe(true);
      await cleanly(() => backend.getMetadata(id, "lastUpdated"), failures);
    }
    for (const [i, id] of streamed.entries()) {
      if (!id) continue;
      expect(id.toString()).toBe(digests[i]!.toString());
      await cleanly(async () => {
        const hash = createHash("sha256");
        for await (const chunk of await backend.getStream(id)) hash.update(chunk);
        expect(hash.digest("hex")).toBe(id.encoded);
      }, failures);
    }
    const walked: Digest[] = [];
    await cleanly(() => backend.walk((id) => void walked.push(id)), failures);
    for (const id of stored.slice(0, 10)) if (id) await cleanly(() => backend.delete(id), failures);

    const stats = proxy!.stats;
    // The faults really happened, and the retries absorbed nearly all of them.
    expect(Object.values(stats.faults).reduce((a, b) => a + (b ?? 0), 0)).toBeGreaterThan(40);
    expect(failures.length, failures.map((f) => f.message).join("\n")).toBeLessThanOrEqual(3);
    for (const f of failures) expect(f.message).toContain(`s3://${peer.bucket}/${prefix}`);

    // Whatever happened, what is stored is whole: every content object hashes to its name.
    proxy!.setRate(0);
    const keys = await expectOnlyWholeContent(prefix);
    expect(keys).not.toContain(`${prefix}${contentKey(wrong)}`);
    console.log(`fault run: ${stats.requests} requests, faults ${JSON.stringify(stats.faults)}, ${failures.length} clean failures, ${keys.length} objects`);
  }, 120_000);

  test("a read resumes where a dropped body stopped (ranged GET), instead of failing", async () => {
    const prefix = freshPrefix("resume");
    const backend = await throughProxy(prefix, { rate: 0, faults: ["truncate-response"], seed: 3 });
    const shape = { size: 9 * MiB, seed: 5 };
    const id = await backend.setStream(generatedStream(shape));
    proxy!.setRate(0.5);
    for (let i = 0; i < 3; i++) {
      const hash = createHash("sha256");
      for await (const chunk of await backend.getStream(id)) hash.update(chunk);
      expect(hash.digest("hex")).toBe(id.encoded);
      expect(Buffer.from(await backend.get(id)).byteLength).toBe(shape.size);
    }
    expect(proxy!.stats.faults["truncate-response"]).toBeGreaterThan(0);
  }, 60_000);

  test("a server that keeps failing gives ERR_BACKEND_IO naming bucket, key and attempts, and leaves nothing", async () => {
    const prefix = freshPrefix("down");
    const backend = await throughProxy(prefix, { rate: 1, faults: ["internal-error"], seed: 1 }, 3);
    const data = new TextEncoder().encode("never stored");
    const id = digestFromBytes(data);
    const started = Date.now();
    const error = await expectStoreError(backend.set(data), BackendErrorCode.Io, [
      `s3://${peer.bucket}/${prefix}content/sha256/${id.encoded}`,
      "InternalError",
    ]);
    expect(error.message).toMatch(/after 3 attempts/);
    expect((error as { details?: Record<string, unknown> }).details).toMatchObject({ bucket: peer.bucket, status: 500 });
    await expectStoreError(backend.get(id), BackendErrorCode.Io, [peer.bucket, id.encoded]);
    await expectStoreError(backend.setStream(generatedStream({ size: 11 * MiB, seed: 8 })), BackendErrorCode.Io, [peer.bucket]);
    // Bounded backoff: three attempts each, not minutes.
    expect(Date.now() - started).toBeLessThan(20_000);
    proxy!.setRate(0);
    expect(await listKeys(direct, peer.bucket, prefix)).toEqual([]);
  }, 60_000);

  // The SDK backs off throttling from a 1 s base (other errors: 50 ms), so this one is slower.
  test("throttling (503 SlowDown on a third of requests) is ridden out", async () => {
    const prefix = freshPrefix("throttle");
    const backend = await throughProxy(prefix, { rate: 0.3, faults: ["slow-down"], seed: 11 }, 8);
    const ids = await Promise.all(Array.from({ length: 6 }, (_, i) => backend.set(new TextEncoder().encode(`throttled ${i}`))));
    for (const id of ids) expect(await backend.has(id)).toBe(true);
    expect(proxy!.stats.faults["slow-down"]).toBeGreaterThan(0);
  }, 60_000);
});

describe("against a server that honours If-None-Match (the proxy enforces it for s3rver)", () => {
  test("is detected, and creating content that exists is a quiet success that leaves the object alone", async () => {
    const prefix = freshPrefix("inm");
    const { backend, driver } = await driverThroughProxy(prefix, { rate: 0, enforceIfNoneMatch: true });
    expect(backend.capabilities.conditionalCreate).toBe(true);
    const data = new TextEncoder().encode("written once");
    const id = await backend.set(data);
    const before = proxy!.stats.preconditionFailed;
    // Bypass the backend's read-first, as a racing host would: the create-only PUT is refused
    // by the server (no HEAD first), and the driver reports it did not create.
    expect(await driver.write(contentKey(id), data, { ifAbsent: true })).toBe(false);
    expect(proxy!.stats.preconditionFailed).toBe(before + 1);

    // Multipart at the content key and through tmp/: completing over an existing object is refused too.
    const shape = { size: 11 * MiB, seed: 12 };
    const expected = await generatedDigest(shape);
    const atKey = await driver.stage(generatedStream(shape), { key: contentKey(expected) });
    const inTmp = await driver.stage(generatedStream(shape));
    expect(await backend.setStream(generatedStream(shape), { expected })).toEqual(expected);
    expect(await atKey.commit(contentKey(expected), { ifAbsent: true })).toBe(false);
    expect(await inTmp.commit(contentKey(expected), { ifAbsent: true })).toBe(false);
    expect(proxy!.stats.preconditionFailed).toBe(before + 3);
    expect(await expectOnlyWholeContent(prefix)).toEqual([`${prefix}${contentKey(id)}`, `${prefix}${contentKey(expected)}`].sort());
    // Metadata is overwritten in place: no condition on it.
    await backend.setMetadata(id, "parent", new TextEncoder().encode("a"));
    await backend.setMetadata(id, "parent", new TextEncoder().encode("b"));
    expect(new TextDecoder().decode(await backend.getMetadata(id, "parent"))).toBe("b");
  }, 60_000);
});
