import { randomBytes } from "node:crypto";
import { request } from "node:http";
import { createS3Backend } from "@store/backend-s3";
import { digestFromBytes, digestStream } from "@store/digest";
import { RegistryClient } from "@store/registry";
import { type S3rverPeer, startS3rver, which } from "@store/test-peers";
import { buildTestImage } from "@store/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countingStreams, curl, type ServeFixture, startFixture, until } from "./serve-fixture";

// The shared tier's content is a StoreBackend on S3: served from there, a client that leaves
// mid-blob must give its S3 response back, or the SDK's connection pool runs dry and every later
// request waits forever.
describe("over the S3 backend (s3rver)", () => {
  let peer: S3rverPeer;
  let fixture: ServeFixture;
  let open: () => number;
  const big = randomBytes(4 * 1024 * 1024);
  const bigDigest = digestFromBytes(big);

  beforeAll(async () => {
    peer = await startS3rver();
    const counted = countingStreams(await createS3Backend({ bucket: peer.bucket, prefix: "shared", clientConfig: peer.clientConfig }));
    open = counted.open;
    fixture = await startFixture(counted.blobs);
    await fixture.blobs.set(big);
  }, 60_000);
  afterAll(async () => {
    await fixture?.close();
    await fixture?.blobs.close();
    await peer?.stop();
  });

  it("serves an image our client pulls and verifies", async () => {
    const image = await buildTestImage([{ "etc/motd": "from s3\n" }]);
    await fixture.addImage("team/app", "1", image);
    const client = new RegistryClient({ credentials: { get: async () => undefined } });
    try {
      const repo = client.repository(`${fixture.server.address}/team/app`);
      const { descriptor } = await repo.fetchManifest("1");
      expect(descriptor.digest.toString()).toBe(image.manifest.digest);
      for (const blob of [image.config, ...image.layers]) expect((await digestStream(repo.fetchBlob(blob))).toString()).toBe(blob.digest);
    } finally {
      client.close();
    }
  });

  it.skipIf(!which("curl"))("serves a range from S3", async () => {
    const r = await curl(fixture.url(`/v2/team/app/blobs/${bigDigest}`), ["-H", "Range: bytes=1000000-"]);
    expect(r.status).toBe(206);
    expect(r.body.equals(big.subarray(1_000_000))).toBe(true);
  });

  it("gives back every S3 response of 60 clients that left mid-blob (more than the SDK's 50 sockets), then serves whole", async () => {
    for (let i = 0; i < 60; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = request(fixture.url(`/v2/team/app/blobs/${bigDigest}`), (res) => {
          res.once("data", () => {
            req.destroy();
            resolve();
          });
          res.on("error", () => undefined);
        });
        req.on("error", (e) => (e.message.includes("socket hang up") ? undefined : reject(e)));
        req.end();
      });
    }
    await until(() => open() === 0, "every S3 stream to be released", 20_000);
    const whole = await curl(fixture.url(`/v2/team/app/blobs/${bigDigest}`), ["--max-time", "20"]);
    expect(whole.status).toBe(200);
    expect(digestFromBytes(whole.body).equals(bigDigest)).toBe(true);
  });
});
