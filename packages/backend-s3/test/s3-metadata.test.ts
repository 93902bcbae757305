import { PutObjectCommand } from "@aws-sdk/client-s3";
import { expectStoreError } from "@store/conformance";
import { MetadataErrorCode } from "@store/metadata";
import { describe, expect, test } from "vitest";
import { createS3MetadataStore, probeConditionalWrites } from "../src/index";
import { useS3rver, freshPrefix, listKeys } from "./s3-fixture";

const encoder = new TextEncoder();
const s3 = useS3rver();

describe("S3 metadata store on s3rver (which ignores conditional headers)", () => {
  test("the probe finds neither If-None-Match nor If-Match honoured, and leaves no object behind", async () => {
    const prefix = freshPrefix("probe");
    expect(await probeConditionalWrites(s3.direct, s3.peer.bucket, { prefix })).toEqual({ ifNoneMatch: false, ifMatch: false });
    expect(await listKeys(s3.direct, s3.peer.bucket, prefix)).toEqual([]);
  });

  test("conditional writes are refused with ERR_METADATA_UNSUPPORTED unless allowUnconditional, and nothing is written", async () => {
    const prefix = freshPrefix("strict");
    const store = await createS3MetadataStore({ bucket: s3.peer.bucket, prefix, clientConfig: s3.peer.clientConfig });
    try {
      expect(store.capabilities).toEqual({ conditional: false, persistent: true, shared: true });
      const error = await expectStoreError(store.putIfAbsent("repositories.json", encoder.encode("{}")), MetadataErrorCode.Unsupported, ["repositories.json"]);
      expect((error as { kind?: string }).kind).toBe("unsupported");
      await expectStoreError(store.putIfVersion("repositories.json", encoder.encode("{}"), "abc"), MetadataErrorCode.Unsupported);
      expect(await listKeys(s3.direct, s3.peer.bucket, prefix)).toEqual([]);
    } finally {
      await store.close();
    }
  });

  test("versions are unquoted ETags; an empty object (a tombstone) reads as no record and is not listed", async () => {
    const prefix = freshPrefix("tomb");
    const store = await createS3MetadataStore({ bucket: s3.peer.bucket, prefix, clientConfig: s3.peer.clientConfig, allowUnconditional: true });
    try {
      const version = await store.putIfAbsent("a", encoder.encode("hello"));
      expect(version).toBe("5d41402abc4b2a76b9719d911017c592"); // MD5 of "hello", no quotes
      await s3.direct.send(new PutObjectCommand({ Bucket: s3.peer.bucket, Key: `${prefix}b`, Body: new Uint8Array(0) }));
      expect(await store.get("b")).toBeUndefined();
      expect(await store.list("")).toEqual(["a"]);
      await store.putIfAbsent("b", encoder.encode("back"));
      expect(await store.list("")).toEqual(["a", "b"]);
    } finally {
      await store.close();
    }
  });

  test("a missing bucket fails at creation with ERR_METADATA_IO naming the bucket", async () => {
    await expectStoreError(
      createS3MetadataStore({ bucket: "no-such-bucket", clientConfig: { ...s3.peer.clientConfig, maxAttempts: 1 } }),
      MetadataErrorCode.Io,
      ["s3://no-such-bucket/", "NoSuchBucket"],
    );
  });
});
