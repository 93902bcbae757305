import { type S3MetadataStoreOptions, createS3MetadataStore } from "@store/backend-s3";
import { createMemoryMetadataStore } from "@store/metadata";
import { type CephRgwPeer, type S3rverPeer, cephRgwSkipReason, startCephRgw, startS3rver } from "@store/test-peers";
import { afterAll, beforeAll, describe } from "vitest";
import { type ReferenceLogFixture, referenceLogSuite, removeRecords } from "./reference-log-suite";

let cases = 0;

/** A fresh prefix of the peer's bucket per case; each host opens a store (and a client) of its own on it. */
async function s3Location(peer: S3rverPeer | CephRgwPeer, options: Partial<S3MetadataStoreOptions>): Promise<ReferenceLogFixture> {
  const prefix = `refs-${process.pid}-${++cases}/`;
  const open = () => createS3MetadataStore({ bucket: peer.bucket, prefix, clientConfig: peer.clientConfig, ...options });
  return {
    openStore: open,
    cleanup: async () => {
      const store = await open();
      await removeRecords(store);
      await store.close();
    },
  };
}

// Conditional: compare-and-swap.
referenceLogSuite("the memory metadata store", "compare-and-swap", async () => {
  const store = createMemoryMetadataStore();
  return { openStore: async () => store, cleanup: async () => {} };
});

// s3rver ignores If-None-Match: ordered records, on stores that allow the (racy) unconditional writes.
describe("s3rver", () => {
  let peer: S3rverPeer;
  beforeAll(async () => {
    peer = await startS3rver();
  });
  afterAll(async () => {
    await peer?.stop();
  });
  referenceLogSuite("s3rver", "ordered-records", () =>
    s3Location(peer, { conditionalWrites: { ifNoneMatch: false, ifMatch: false }, allowUnconditional: true }),
  );
});

// Ceph RGW 16 enforces If-None-Match: * on single PUTs: compare-and-swap, as on AWS S3.
describe.skipIf(cephRgwSkipReason())("Ceph RGW", () => {
  let peer: CephRgwPeer;
  beforeAll(async () => {
    peer = await startCephRgw();
  });
  afterAll(async () => {
    await peer?.stop();
  });
  referenceLogSuite("Ceph RGW", "compare-and-swap", () => s3Location(peer, { conditionalWrites: { ifNoneMatch: true, ifMatch: true } }));
});
