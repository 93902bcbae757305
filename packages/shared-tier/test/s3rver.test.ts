import { type S3rverPeer, startS3rver } from "@store/test-peers";
import { afterAll, beforeAll } from "vitest";
import { sharedTierSuite } from "./shared-tier-suite";
import { s3Medium } from "./support/tier-medium";

// s3rver ignores If-None-Match and If-Match: the metadata store only checks before writing, so
// upload claims are the ordered kind (one record per host, lowest name wins).
let peer: S3rverPeer;
beforeAll(async () => {
  peer = await startS3rver();
});
afterAll(async () => {
  await peer?.stop();
});

sharedTierSuite("s3rver", () => s3Medium(peer, false));
