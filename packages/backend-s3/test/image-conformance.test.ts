import type { S3Client } from "@aws-sdk/client-s3";
import { imageConformance } from "@store/conformance";
import { type S3rverPeer, startS3rver } from "@store/test-peers";
import { afterAll, beforeAll } from "vitest";
import { createS3Driver } from "../src/create-s3-backend";
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

// The image suites (restore, chain, walk) with an image store on S3: every case under a fresh
// prefix of one s3rver, reopened as another host would open the same bucket and prefix.
imageConformance("s3 (s3rver)", async () => {
  const prefix = freshPrefix("image");
  const open = () => createS3Backend({ bucket: peer.bucket, prefix, clientConfig: peer.clientConfig });
  const driver = await createS3Driver({ bucket: peer.bucket, prefix, client: direct, conditionalCreate: false });
  return { backend: await open(), driver, reopen: open, cleanup: () => removeAll(direct, peer.bucket, prefix) };
});
