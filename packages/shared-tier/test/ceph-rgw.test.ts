import { type CephRgwPeer, cephRgwSkipReason, startCephRgw } from "@store/test-peers";
import { afterAll, beforeAll, describe } from "vitest";
import { sharedTierSuite } from "./shared-tier-suite";
import { s3Medium } from "./support/tier-medium";

// Ceph RGW 16 enforces If-None-Match: * and If-Match on single PUTs: one claim record per digest,
// created once and taken over by compare-and-swap.
describe.skipIf(cephRgwSkipReason())("Ceph RGW", () => {
  let peer: CephRgwPeer;
  beforeAll(async () => {
    peer = await startCephRgw();
  });
  afterAll(async () => {
    await peer?.stop();
  });

  sharedTierSuite("ceph-rgw", () => s3Medium(peer, true));
});
