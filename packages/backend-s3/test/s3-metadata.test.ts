import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { expectStoreError } from "@store/conformance";
import { MetadataErrorCode } from "@store/metadata";
import { type S3rverPeer, startS3rver } from "@store/test-peers";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createS3MetadataStore, probeConditionalWrites } from "../src/index";
import { directClient, freshPrefix, listKeys } from "./s3-fixture";

const encoder = new TextEncoder();
let peer: S3rverPeer;
let direct: S3Client;
beforeAll(async () => {
  peer = await startS3rver();
  direct = directClient(peer);
});
afterAll(async () => {
  direct?.destroy();
  await peer?.stop();
});

describe("S3 metadata store on s3rver (which ignores conditional headers)", () => {
  test("the probe finds neither If-None-Match nor If-Match honoured, and leaves no object behind", async () => {
    const prefix = freshPrefix("probe");
    expect(await probeConditionalWrites(direct, peer.bucket, { prefix })).toEqual({ ifNoneMatch: false, ifMatch: false });
    expect(await listKeys(direct, peer.bucket, prefix)).toEqual([]);
  });

  test("conditional writes are refused with ERR_METADATA_UNSUPPORTED unless allowUnconditional, and nothing is written", async () => {
    const prefix = freshPrefix("strict");
    const store = await createS3MetadataStore({ bucket: peer.bucket, prefix, clientConfig: peer.clientConfig });
    try {
      expect(store.capabilities).toEqual({ conditional: false, persistent: true, shared: true });
      const error = await expectStoreError(store.putIfAbsent("repositories.json", encoder.encode("{}")), MetadataErrorCode.Unsupported, ["repositories.json"]);
      expect((error as { kind?: string }).kind).toBe("unsupported");
      await expectStoreError(store.putIfVersion("repositories.json", encoder.encode("{}"), "abc"), MetadataErrorCode.Unsupported);
      expect(await listKeys(direct, peer.bucket, prefix)).toEqual([]);
    } finally {
      await store.close();
    }
  });

  test("versions are unquoted ETags; an empty object (a tombstone) reads as no record and is not listed", async () => {
    const prefix = freshPrefix("tomb");
    const store = await createS3MetadataStore({ bucket: peer.bucket, prefix, clientConfig: peer.clientConfig, allowUnconditional: true });
    try {
      const version = await store.putIfAbsent("a", encoder.encode("hello"));
      expect(version).toBe("5d41402abc4b2a76b9719d911017c592"); // MD5 of "hello", no quotes
      await direct.send(new PutObjectCommand({ Bucket: peer.bucket, Key: `${prefix}b`, Body: new Uint8Array(0) }));
      expect(await store.get("b")).toBeUndefined();
      expect(await store.list("")).toEqual(["a"]);
      await store.putIfAbsent("b", encoder.encode("back"));
      expect(await store.list("")).toEqual(["a", "b"]);
    } finally {
      await store.close();
    }
  });

  test("a missing bucket fails at creation with ERR_METADATA_IO naming the bucket", async () => {
    await expectStoreError(createS3MetadataStore({ bucket: "no-such-bucket", clientConfig: { ...peer.clientConfig, maxAttempts: 1 } }), MetadataErrorCode.Io, [
      "s3://no-such-bucket/",
      "NoSuchBucket",
    ]);
  });
});
