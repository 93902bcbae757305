import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { metadataConformance } from "@store/metadata/conformance";
import { type CephRgwPeer, cephRgwSkipReason, startCephRgw } from "@store/test-peers";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createS3MetadataStore, detectConditionalCreate, probeConditionalWrites } from "../src/index";
import { freshPrefix, listKeys, removeAll } from "./s3-fixture";

// Ceph RGW 16, a real S3 server, enforces If-None-Match: * and If-Match (unquoted ETag) on
// single PUTs: the metadata store is conditional there, and the race cases run.
describe.skipIf(cephRgwSkipReason())("S3 metadata store on Ceph RGW", () => {
  let peer: CephRgwPeer;
  let direct: S3Client;
  beforeAll(async () => {
    peer = await startCephRgw();
    direct = new S3Client({ ...peer.clientConfig, maxAttempts: 1 });
  });
  afterAll(async () => {
    direct?.destroy();
    await peer?.stop();
  });

  test("the probe finds If-None-Match and If-Match honoured, and leaves no object behind", async () => {
    const prefix = freshPrefix("probe");
    expect(await probeConditionalWrites(direct, peer.bucket, { prefix, racers: 16 })).toEqual({ ifNoneMatch: true, ifMatch: true });
    expect(await detectConditionalCreate(direct, peer.bucket, prefix)).toBe(true);
    expect(await listKeys(direct, peer.bucket, prefix)).toEqual([]);
  });

  test("the ETag goes back without quotes: RGW 16 refuses the quoted form S3 hands out", async () => {
    const Key = `${freshPrefix("quotes")}k`;
    const { ETag } = await direct.send(new PutObjectCommand({ Bucket: peer.bucket, Key, Body: "a" }));
    expect(ETag).toMatch(/^".*"$/);
    await expect(direct.send(new PutObjectCommand({ Bucket: peer.bucket, Key, Body: "b", IfMatch: ETag }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 412 },
    });
    await direct.send(new PutObjectCommand({ Bucket: peer.bucket, Key, Body: "b", IfMatch: ETag!.replace(/"/g, "") }));
  });

  test("a store opened there is conditional, persistent and shared", async () => {
    const store = await createS3MetadataStore({ bucket: peer.bucket, prefix: freshPrefix("caps"), clientConfig: peer.clientConfig });
    expect(store.capabilities).toEqual({ conditional: true, persistent: true, shared: true });
    await store.close();
  });

  // Two stores per case race through two clients, as two hosts would.
  metadataConformance("s3 (Ceph RGW)", async () => {
    const prefix = freshPrefix("metadata");
    const open = () =>
      createS3MetadataStore({ bucket: peer.bucket, prefix, clientConfig: peer.clientConfig, conditionalWrites: { ifNoneMatch: true, ifMatch: true } });
    return { store: await open(), reopen: open, cleanup: () => removeAll(direct, peer.bucket, prefix) };
  });
});
