import type { S3Client } from "@aws-sdk/client-s3";
import { metadataConformance } from "@store/metadata/conformance";
import { type S3rverPeer, startS3rver } from "@store/test-peers";
import { afterAll, beforeAll } from "vitest";
import { createS3MetadataStore } from "../src/index";
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

// s3rver ignores If-None-Match and If-Match, so the probe finds compare-and-swap not honoured and
// the race cases are skipped on `capabilities.conditional`; the rest runs through
// allowUnconditional (read-check-write, fine one writer at a time).
metadataConformance("s3 (s3rver)", async () => {
  const prefix = freshPrefix("metadata");
  const open = () => createS3MetadataStore({ bucket: peer.bucket, prefix, clientConfig: peer.clientConfig, allowUnconditional: true });
  return { store: await open(), reopen: open, cleanup: () => removeAll(direct, peer.bucket, prefix) };
});
