import type { S3Client } from "@aws-sdk/client-s3";
import { backendCases, backendHooks, defaultBackendSuiteOptions, registerSuite } from "@store/conformance";
import { type S3rverPeer, startS3rver } from "@store/test-peers";
import { afterAll, beforeAll } from "vitest";
import { createS3Backend } from "../src/index";
import { directClient, freshPrefix, removeAll } from "./s3-fixture";

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

// s3rver writes an object's file in place and its metadata beside it, and answers a Buffer PUT
// before the file is written, so a GET racing a PUT of the same key can see part of an object.
// AWS S3, MinIO and R2 publish a PUT or a completed multipart upload atomically, and the
// driver publishes only that way (one PUT, or one CompleteMultipartUpload), so the racing-read
// cases are skipped here, with that reason, rather than made to pass by retrying reads. (s3rver
// also assembles a completed multipart upload into the object's file in place, which is what
// the setStream race catches now and then.)
const s3rverNotAtomic = "s3rver does not publish a PUT atomically (real S3 does): a racing reader can see part of an object";
const racingReads = new Set([
  "a reader racing set never sees partial content",
  "a reader racing setStream never sees partial content",
  "a reader racing metadata rewrites sees one whole value or the other",
]);
const cases = backendCases.map((c) => (racingReads.has(c.name) ? { ...c, unsupported: () => s3rverNotAtomic } : c));

// The suite bounds the memory held while streaming to a quarter of the stream. An upload holds
// (queueSize + 1) parts of at least 5 MiB (S3's minimum): 10 MiB here, plus what V8 has freed
// but not yet swept, too close to the 16 MiB bound of the default 64 MiB stream. 128 MiB (a
// 32 MiB bound) shows the same thing with a margin: memory set by the part size, not by the
// content's. The package's own tests cover parallel parts.
registerSuite(
  "s3 StoreBackend conformance (s3rver)",
  cases,
  backendHooks(async () => {
    const prefix = freshPrefix("conformance");
    const open = () => createS3Backend({ bucket: peer.bucket, prefix, clientConfig: peer.clientConfig, partSize: 5 << 20, queueSize: 1 });
    return { backend: await open(), reopen: open, cleanup: () => removeAll(direct, peer.bucket, prefix) };
  }),
  { ...defaultBackendSuiteOptions, streamSize: 128 << 20 },
);
