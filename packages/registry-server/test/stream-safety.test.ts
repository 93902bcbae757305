import { randomBytes } from "node:crypto";
import { readdirSync, readlinkSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { createFsBackend } from "@store/backend-fs";
import { digestFromBytes } from "@store/digest";
import { RegistryClient } from "@store/registry";
import { which } from "@store/test-peers";
import { buildTestImage, tempDir } from "@store/test-support";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { countingStreams, curl, errorsOf, type ServeFixture, startFixture, until } from "./serve-fixture";

/** This process's open file descriptors that point at `path`. */
function fdsOn(path: string): number {
  let n = 0;
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === path) n++;
    } catch {
      // Closed between the listing and the look.
    }
  }
  return n;
}

describe("streams that end early or carry damaged content, over the fs backend", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let fixture: ServeFixture;
  let open: () => number;
  const big = randomBytes(16 * 1024 * 1024);
  const bigDigest = digestFromBytes(big);
  const bigPath = () => join(dir.path, "content", "sha256", bigDigest.encoded);

  beforeEach(async () => {
    dir = await tempDir("regsrv-stream-");
    const counted = countingStreams(createFsBackend({ root: dir.path }));
    open = counted.open;
    fixture = await startFixture(counted.blobs, { idleTimeoutMs: 500 });
    await fixture.blobs.set(big);
  });
  afterEach(async () => {
    await fixture?.close();
    await dir?.remove();
  });

  it("releases the blob's stream and file when the client disconnects mid-blob", async () => {
    const received = await new Promise<number>((resolve, reject) => {
      const req = request(fixture.url(`/v2/team/app/blobs/${bigDigest}`), (res) => {
        let got = 0;
        res.on("data", (chunk: Buffer) => {
          got += chunk.byteLength;
          if (got > 256 * 1024) {
            req.destroy();
            resolve(got);
          }
        });
        res.on("error", () => undefined);
      });
      req.on("error", (e) => (e.message.includes("socket hang up") ? undefined : reject(e)));
      req.end();
    });
    expect(received).toBeLessThan(big.byteLength);
    await until(() => open() === 0 && fdsOn(bigPath()) === 0, "the stream and its file to close");
    await until(() => fixture.records.length === 1, "the request record");
    expect(fixture.records[0]!.error?.message).toMatch(/closed the connection/);
    expect(fixture.records[0]!.bytes).toBeLessThan(big.byteLength);
    // And serves the next client whole.
    const again = await curl(fixture.url(`/v2/team/app/blobs/${bigDigest}`));
    expect(again.status).toBe(200);
    expect(digestFromBytes(again.body).equals(bigDigest)).toBe(true);
  });

  it("closes a connection whose client stops reading, and releases the stream", async () => {
    const req = request(fixture.url(`/v2/team/app/blobs/${bigDigest}`), (res) => {
      res.pause(); // reads nothing: the server's writes back up, then its idle timeout fires
      res.on("error", () => undefined);
    });
    req.on("error", () => undefined);
    req.end();
    try {
      await until(() => fixture.records.length === 1, "the server to give up on the connection");
      expect(fixture.records[0]!.error?.message).toMatch(/closed the connection/);
      expect(fixture.records[0]!.bytes).toBeLessThan(big.byteLength);
      await until(() => open() === 0 && fdsOn(bigPath()) === 0, "its stream to be released");
    } finally {
      req.destroy();
    }
  });

  it("close() cuts downloads in flight and releases their streams", async () => {
    const req = request(fixture.url(`/v2/team/app/blobs/${bigDigest}`), (res) => {
      res.pause();
      res.on("error", () => undefined);
    });
    req.on("error", () => undefined);
    req.end();
    await until(() => open() === 1, "the stream to open");
    await fixture.close();
    await until(() => open() === 0 && fdsOn(bigPath()) === 0, "the stream to close");
  });

  it.skipIf(!which("curl"))("cuts a blob whose stored bytes do not verify: the client never gets it whole", async () => {
    const damaged = Buffer.from(big);
    damaged[damaged.byteLength - 1]! ^= 0xff; // the same size: only reading it all can tell
    await writeFile(bigPath(), damaged);
    const r = await curl(fixture.url(`/v2/team/app/blobs/${bigDigest}`));
    expect(r.status).toBe(200);
    expect(r.exit).toBe(18); // CURLE_PARTIAL_FILE: fewer bytes than Content-Length
    expect(r.body.byteLength).toBeLessThan(big.byteLength);
    // A range that ends early is cut too: it is released only once the whole blob verified.
    const ranged = await curl(fixture.url(`/v2/team/app/blobs/${bigDigest}`), ["-H", "Range: bytes=0-99"]);
    expect(ranged.status).toBe(206);
    expect(ranged.exit).toBe(18);
    expect(ranged.body.byteLength).toBe(0); // the 100 bytes stayed held back
    await until(() => fixture.records.length === 2, "the request records");
    for (const record of fixture.records) expect(record.error?.message).toMatch(/verify/);
    expect(open()).toBe(0);

    const client = new RegistryClient({ credentials: { get: async () => undefined }, retry: { attempts: 1, baseDelayMs: 1 } });
    try {
      const repo = client.repository(`${fixture.server.address}/team/app`);
      await expect(
        (async () => {
          for await (const _ of repo.fetchBlob({ digest: bigDigest, size: big.byteLength })) void _;
        })(),
      ).rejects.toThrow();
    } finally {
      client.close();
    }
  });

  it.skipIf(!which("curl"))("answers a damaged manifest with 500, never its bytes", async () => {
    const image = await buildTestImage([{ "a.txt": "a\n" }]);
    await fixture.addImage("team/app", "1", image);
    const path = join(dir.path, "content", "sha256", image.manifest.digest.slice("sha256:".length));
    const damaged = Buffer.from(image.manifest.bytes);
    damaged[10] = damaged[10] === 0x20 ? 0x09 : 0x20;
    await writeFile(path, damaged);
    const r = await curl(fixture.url("/v2/team/app/manifests/1"));
    expect(r.status).toBe(500);
    expect(errorsOf(r.body)[0]!.code).toBe("UNKNOWN");
  });
});
