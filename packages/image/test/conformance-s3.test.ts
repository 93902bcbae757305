import { createS3Backend } from "@store/backend-s3";
import { type S3rverPeer, startS3rver } from "@store/test-peers";
import { afterAll, beforeAll } from "vitest";
import { imageConformance } from "../src/conformance/index";

let peer: S3rverPeer;
let prefixes = 0;
beforeAll(async () => {
  peer = await startS3rver();
});
afterAll(async () => {
  await peer?.stop();
});

// The image suites (restore, chain, walk) with an image store on S3: every case under a fresh
// prefix of one s3rver, reopened as another host would open the same bucket and prefix.
imageConformance("s3 (s3rver)", async () => {
  const prefix = `image-${process.pid}-${++prefixes}/`;
  const open = () => createS3Backend({ bucket: peer.bucket, prefix, clientConfig: peer.clientConfig });
  const cleanup = async () => {
    // Through the contract itself: every image under the prefix, deleted one at a time (s3rver
    // races on parallel deletes in one directory).
    const backend = await open();
    const ids: Parameters<typeof backend.delete>[0][] = [];
    await backend.walk(async (id) => void ids.push(id));
    for (const id of ids) await backend.delete(id);
    await backend.close();
  };
  return { backend: await open(), reopen: open, cleanup };
});
