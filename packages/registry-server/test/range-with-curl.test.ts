import { randomBytes } from "node:crypto";
import { createMemoryBackend } from "@store/backend-memory";
import { digestFromBytes } from "@store/digest";
import { which } from "@store/test-peers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { curl, errorsOf, type ServeFixture, startFixture } from "./serve-fixture";

// Range as Go's http.ServeContent answers it (distribution serves blobs with it), probed as the
// distribution-spec conformance suite probes it: 500-1499, 500-, -500, 2000-5000, 500-0, 5000-10000.
describe.skipIf(!which("curl"))("blobs with Range, through curl", () => {
  let fixture: ServeFixture;
  const bytes = randomBytes(3000);
  const digest = digestFromBytes(bytes).toString();
  const blobUrl = () => fixture.url(`/v2/team/app/blobs/${digest}`);

  beforeAll(async () => {
    fixture = await startFixture(createMemoryBackend());
    await fixture.blobs.set(bytes);
  });
  afterAll(() => fixture?.close());

  it("sends the whole blob with its digest, length, type and Accept-Ranges", async () => {
    const r = await curl(blobUrl());
    expect(r.status).toBe(200);
    expect(r.body.equals(bytes)).toBe(true);
    expect(r.headers).toMatchObject({
      "content-length": "3000",
      "content-type": "application/octet-stream",
      "docker-content-digest": digest,
      etag: `"${digest}"`,
      "accept-ranges": "bytes",
      "docker-distribution-api-version": "registry/2.0",
    });
  });

  it.each([
    ["bytes=500-1499", 500, 1499],
    ["bytes=500-", 500, 2999],
    ["bytes=-500", 2500, 2999],
    ["bytes=2000-5000", 2000, 2999],
    ["bytes=0-0", 0, 0],
  ])("%s → 206 with Content-Range and exactly those bytes", async (range, start, end) => {
    const r = await curl(blobUrl(), ["-H", `Range: ${range}`]);
    expect(r.status).toBe(206);
    expect(r.headers["content-range"]).toBe(`bytes ${start}-${end}/3000`);
    expect(r.headers["content-length"]).toBe(String(end - start + 1));
    expect(r.body.equals(bytes.subarray(start, end + 1))).toBe(true);
  });

  it.each(["bytes=5000-10000", "bytes=3000-", "bytes=500-0", "bytes=-0", "bytes=abc", "items=0-1"])(
    "%s → 416 RANGE_INVALID with Content-Range: bytes */3000",
    async (range) => {
      const r = await curl(blobUrl(), ["-H", `Range: ${range}`]);
      expect(r.status).toBe(416);
      expect(r.headers["content-range"]).toBe("bytes */3000");
      expect(errorsOf(r.body)[0]!.code).toBe("RANGE_INVALID");
    },
  );

  it("answers several ranges with the whole blob (a server may ignore Range)", async () => {
    const r = await curl(blobUrl(), ["-H", "Range: bytes=0-1,5-6"]);
    expect(r.status).toBe(200);
    expect(r.body.equals(bytes)).toBe(true);
  });

  it("HEAD gives the headers of the GET; with Range, the 206's", async () => {
    const head = await curl(blobUrl(), ["-I"]);
    expect(head.status).toBe(200);
    expect(head.headers["content-length"]).toBe("3000");
    expect(head.headers["docker-content-digest"]).toBe(digest);
    const ranged = await curl(blobUrl(), ["-I", "-H", "Range: bytes=10-19"]);
    expect(ranged.status).toBe(206);
    expect(ranged.headers["content-range"]).toBe("bytes 10-19/3000");
  });

  it("answers If-None-Match of the blob's ETag with 304", async () => {
    const r = await curl(blobUrl(), ["-H", `If-None-Match: "${digest}"`]);
    expect(r.status).toBe(304);
    expect(r.body.byteLength).toBe(0);
  });
});
