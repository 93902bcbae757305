import { createHash } from "node:crypto";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { BackendErrorCode, type StoreBackend, contentKey, createBackend } from "@store/backend";
import { expectStoreError, generatedDigest, generatedStream } from "@store/conformance";
import { type Digest, digestFromBytes } from "@store/digest";
import { type S3rverPeer, startS3rver } from "@store/test-peers";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createS3Driver } from "../src/create-s3-backend";
import { S3BackendErrorCode, createS3Backend, detectConditionalCreate } from "../src/index";
import { directClient, freshPrefix, listKeys } from "./s3-fixture";

const MiB = 1 << 20;
let peer: S3rverPeer;
let direct: S3Client;
const opened: StoreBackend[] = [];

beforeAll(async () => {
  peer = await startS3rver();
  direct = directClient(peer);
});
afterAll(async () => {
  for (const backend of opened) await backend.close();
  direct?.destroy();
  await peer?.stop();
});

async function open(prefix: string, options: { partSize?: number; queueSize?: number } = {}): Promise<StoreBackend> {
  return (await openWithDriver(prefix, options)).backend;
}

/** A backend and, for raw access beside it, its driver. */
async function openWithDriver(prefix: string, options: { partSize?: number; queueSize?: number } = {}) {
  const driver = await createS3Driver({ bucket: peer.bucket, prefix, clientConfig: peer.clientConfig, partSize: 5 * MiB, ...options });
  const backend = createBackend(driver);
  opened.push(backend);
  return { backend, driver };
}

async function sha256Of(key: string): Promise<string> {
  const r = await direct.send(new GetObjectCommand({ Bucket: peer.bucket, Key: key }));
  return createHash("sha256")
    .update(await r.Body!.transformToByteArray())
    .digest("hex");
}

describe("layout", () => {
  test("keys mirror the fs layout under the prefix, so a synced bucket is an fs store", async () => {
    const prefix = freshPrefix("layout");
    const backend = await open(prefix);
    const id = await backend.set(new TextEncoder().encode('{"rootfs":{}}'));
    await backend.setMetadata(id, "parent", new TextEncoder().encode("sha256:abc"));
    expect((await listKeys(direct, peer.bucket, prefix)).sort()).toEqual([
      `${prefix}content/sha256/${id.encoded}`,
      `${prefix}metadata/sha256/${id.encoded}/parent`,
    ]);
  });

  test("stores under different prefixes of one bucket do not see each other", async () => {
    const a = await open(freshPrefix("iso"));
    const b = await open(freshPrefix("iso"));
    const id = await a.set(new TextEncoder().encode("only in a"));
    expect(await b.has(id)).toBe(false);
    const seen: Digest[] = [];
    await b.walk((d) => void seen.push(d));
    expect(seen).toEqual([]);
  });

  test("a prefix without its trailing slash gets one", async () => {
    const prefix = freshPrefix("slash").slice(0, -1);
    const backend = await open(prefix);
    const id = await backend.set(new TextEncoder().encode("slash"));
    expect(await listKeys(direct, peer.bucket, `${prefix}/`)).toEqual([`${prefix}/content/sha256/${id.encoded}`]);
  });
});

describe("walk", () => {
  test("pages through more than 1,000 entries (ListObjectsV2 continuation)", async () => {
    const prefix = freshPrefix("walk");
    const { backend, driver } = await openWithDriver(prefix);
    const ids: string[] = [];
    const total = 1_100;
    // Written through the driver (one PUT each, no existence check) to keep the setup short.
    for (let i = 0; i < total; i += 100) {
      const batch = Array.from({ length: Math.min(100, total - i) }, async (_, j) => {
        const data = new TextEncoder().encode(`entry ${i + j}`);
        const id = digestFromBytes(data);
        await driver.write(contentKey(id), data);
        return id;
      });
      for (const id of await Promise.all(batch)) ids.push(id.toString());
    }
    // A stray and a "folder" marker object, as sync tools leave behind: never walked.
    await driver.write("content/sha256/.tmp-stray", new Uint8Array([1]));
    await driver.write("content/sha256/", new Uint8Array([1]));
    const walked: string[] = [];
    await backend.walk((id) => void walked.push(id.toString()));
    expect(walked).toHaveLength(total);
    expect(walked).toEqual([...ids].sort());
  }, 120_000);
});

describe("streams", () => {
  test("large content goes up in parallel parts, straight to its key when the digest is known", async () => {
    const prefix = freshPrefix("mp");
    const backend = await open(prefix, { queueSize: 4 });
    const shape = { size: 23 * MiB + 5, chunkSize: 300_001, seed: 41 };
    const expected = await generatedDigest(shape);
    expect((await backend.setStream(generatedStream(shape), { expected, size: shape.size })).toString()).toBe(expected.toString());
    expect(await listKeys(direct, peer.bucket, prefix)).toEqual([`${prefix}${contentKey(expected)}`]);
    expect(await sha256Of(`${prefix}${contentKey(expected)}`)).toBe(expected.encoded);
  });

  test("large content of unknown digest is staged under tmp/ and leaves nothing there once committed", async () => {
    const prefix = freshPrefix("tmpcopy");
    const backend = await open(prefix, { queueSize: 3 });
    const shape = { size: 12 * MiB, seed: 42 };
    const id = await backend.setStream(generatedStream(shape));
    expect(id.toString()).toBe((await generatedDigest(shape)).toString());
    expect(await listKeys(direct, peer.bucket, prefix)).toEqual([`${prefix}${contentKey(id)}`]);
    let size = 0;
    for await (const chunk of await backend.getStream(id)) size += chunk.byteLength;
    expect(size).toBe(shape.size);
  });

  test("set() of content larger than a part uses multipart and reads back verified", async () => {
    const backend = await open(freshPrefix("bigset"));
    const data = new Uint8Array(11 * MiB).map((_, i) => (i * 31) & 0xff);
    const id = await backend.set(data);
    expect(id.toString()).toBe(digestFromBytes(data).toString());
    expect(Buffer.compare(Buffer.from(await backend.get(id)), Buffer.from(data))).toBe(0);
  });

  test("a multipart stream that fails verification leaves no object at all, temp or final", async () => {
    const prefix = freshPrefix("bad");
    const backend = await open(prefix);
    const shape = { size: 12 * MiB, seed: 43 };
    const wrong = digestFromBytes(new TextEncoder().encode("not this"));
    await expectStoreError(backend.setStream(generatedStream(shape), { expected: wrong }), BackendErrorCode.ContentMismatch);
    await expectStoreError(backend.setStream(generatedStream(shape), { size: shape.size - 1 }), BackendErrorCode.ContentMismatch);
    expect(await listKeys(direct, peer.bucket, prefix)).toEqual([]);
  });

  test("staged but never committed content is invisible; abort leaves nothing", async () => {
    const prefix = freshPrefix("staged");
    const { driver } = await openWithDriver(prefix);
    const shape = { size: 11 * MiB, seed: 44 };
    const key = contentKey(await generatedDigest(shape));
    const atKey = await driver.stage(generatedStream(shape), { key });
    const inTmp = await driver.stage(generatedStream(shape));
    const small = await driver.stage(
      (async function* () {
        yield new Uint8Array([1, 2, 3]);
      })(),
    );
    // Parts are uploaded, nothing is published.
    expect(await listKeys(direct, peer.bucket, prefix)).toEqual([]);
    expect(await driver.stat(key)).toBeUndefined();
    await atKey.abort();
    await inTmp.abort();
    await small.abort();
    expect(await listKeys(direct, peer.bucket, prefix)).toEqual([]);
  });

  test("a staged upload bound to its hinted key refuses to be committed elsewhere", async () => {
    const prefix = freshPrefix("elsewhere");
    const { driver } = await openWithDriver(prefix);
    const shape = { size: 11 * MiB, seed: 45 };
    const key = contentKey(await generatedDigest(shape));
    const staged = await driver.stage(generatedStream(shape), { key });
    await expect(staged.commit("content/sha256/other")).rejects.toThrow(/cannot commit/);
    await staged.abort();
    expect(await listKeys(direct, peer.bucket, prefix)).toEqual([]);
  });
});

describe("configuration and errors", () => {
  test("capabilities: persistent, shared, and conditional create as detected (s3rver ignores If-None-Match)", async () => {
    const backend = await open(freshPrefix("caps"));
    expect(backend.capabilities).toEqual({ persistent: true, shared: true, conditionalCreate: false });
    expect(await detectConditionalCreate(direct, peer.bucket, freshPrefix("probe"))).toBe(false);
    const configured = await createS3Backend({ bucket: peer.bucket, clientConfig: peer.clientConfig, conditionalCreate: true });
    expect(configured.capabilities.conditionalCreate).toBe(true);
    await configured.close();
  });

  test("the probe leaves no object behind", async () => {
    const prefix = freshPrefix("probe-clean");
    await open(prefix);
    expect(await listKeys(direct, peer.bucket, prefix)).toEqual([]);
  });

  test("a missing bucket fails at creation, naming the bucket", async () => {
    const error = await expectStoreError(
      createS3Backend({ bucket: "no-such-bucket", clientConfig: { ...peer.clientConfig, maxAttempts: 1 } }),
      BackendErrorCode.Io,
      ["s3://no-such-bucket/", "NoSuchBucket"],
    );
    expect(error.message).toMatch(/tmp\/probe-/);
  });

  test("without the probe, reads of a missing bucket fail with ERR_BACKEND_IO naming bucket and key, not NOT_FOUND", async () => {
    const backend = await createS3Backend({ bucket: "no-such-bucket", prefix: "p", clientConfig: peer.clientConfig, conditionalCreate: false });
    const id = digestFromBytes(new TextEncoder().encode("x"));
    await expectStoreError(backend.get(id), BackendErrorCode.Io, [`s3://no-such-bucket/p/content/sha256/${id.encoded}`, "NoSuchBucket"]);
    const walk = await backend
      .walk(() => undefined)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(String(walk)).toMatch(/s3:\/\/no-such-bucket\/p\/content\/: ListObjectsV2 failed/);
    await backend.close();
  });

  test("bad options are refused with ERR_S3_INVALID_OPTIONS", async () => {
    const base = { bucket: peer.bucket, clientConfig: peer.clientConfig, conditionalCreate: false };
    await expectStoreError(createS3Backend({ ...base, bucket: "" }), S3BackendErrorCode.InvalidOptions);
    await expectStoreError(createS3Backend({ ...base, prefix: "/abs" }), S3BackendErrorCode.InvalidOptions, ['"/abs"']);
    await expectStoreError(createS3Backend({ ...base, prefix: "a/../b" }), S3BackendErrorCode.InvalidOptions);
    await expectStoreError(createS3Backend({ ...base, prefix: "a//b" }), S3BackendErrorCode.InvalidOptions);
    await expectStoreError(createS3Backend({ ...base, partSize: MiB }), S3BackendErrorCode.InvalidOptions, ["partSize"]);
    await expectStoreError(createS3Backend({ ...base, queueSize: 0 }), S3BackendErrorCode.InvalidOptions, ["queueSize"]);
  });

  test("create-only writes look first where the server ignores If-None-Match, and report what is there", async () => {
    const prefix = freshPrefix("create-only");
    const { backend, driver } = await openWithDriver(prefix);
    expect(backend.capabilities.conditionalCreate).toBe(false);
    const id = await backend.set(new TextEncoder().encode("original"));
    // Other bytes under the same key: a create-only write must leave the object alone.
    expect(await driver.write(contentKey(id), new TextEncoder().encode("intruder"), { ifAbsent: true })).toBe(false);
    expect(new TextDecoder().decode(await backend.get(id))).toBe("original");
    // A staged multipart upload committed create-only over an existing object is dropped whole.
    const shape = { size: 11 * MiB, seed: 45 };
    const expected = await backend.setStream(generatedStream(shape));
    const staged = await driver.stage(generatedStream(shape));
    expect(await staged.commit(contentKey(expected), { ifAbsent: true })).toBe(false);
    expect((await listKeys(direct, peer.bucket, prefix)).sort()).toEqual([`${prefix}${contentKey(expected)}`, `${prefix}${contentKey(id)}`].sort());
    // Metadata writes replace: no condition on them.
    expect(await driver.write(`metadata/sha256/${id.encoded}/parent`, new TextEncoder().encode("a"))).toBe(true);
    expect(await driver.write(`metadata/sha256/${id.encoded}/parent`, new TextEncoder().encode("b"))).toBe(true);
  });

  test("a walk by hex prefix lists only that prefix on the server", async () => {
    const prefix = freshPrefix("short-id");
    const backend = await open(prefix);
    const ids: Digest[] = [];
    for (let i = 0; i < 40; i++) ids.push(await backend.set(new TextEncoder().encode(`short ${i}`)));
    const wanted = ids[7]!.encoded.slice(0, 2);
    const seen: string[] = [];
    await backend.walk((id) => void seen.push(id.toString()), { encodedPrefix: wanted });
    expect(seen).toEqual(
      ids
        .filter((id) => id.encoded.startsWith(wanted))
        .map(String)
        .sort(),
    );
  });

  test("tampered content is refused on read (verification happens above the driver)", async () => {
    const prefix = freshPrefix("tamper");
    const { backend, driver } = await openWithDriver(prefix);
    const id = await backend.set(new TextEncoder().encode("original"));
    await driver.write(contentKey(id), new TextEncoder().encode("tampered"));
    await expectStoreError(backend.get(id), BackendErrorCode.VerificationFailed, [id.toString()]);
  });
});
