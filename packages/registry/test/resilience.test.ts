import { afterEach, describe, expect, it } from "vitest";
import { gzipSync } from "node:zlib";
import { digestFromBytes } from "@store/digest";
import { RegistryClient, RegistryErrorCode, type RetryNotice, maxManifestSize } from "../src/index";
import { anonymous, errorBody, type LocalServer, manifest, manifestDigest, startLocalServer } from "./local-server";
import { collect } from "./registry-fixture";

const ociManifest = "application/vnd.oci.image.manifest.v1+json";
const blob = Buffer.alloc(3 << 20, 7).map((_, i) => (i * 31) & 0xff);
const blobDigest = digestFromBytes(blob);

const servers: LocalServer[] = [];
const clients: RegistryClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
});

/** A local registry whose `/v2/<name>/…` answers come from `handle`; `/v2/` answers 200. */
async function registry(handle: Parameters<typeof startLocalServer>[0]): Promise<LocalServer> {
  const server = await startLocalServer((req, res, body) => {
    if (req.url === "/v2/") res.writeHead(200).end("{}");
    else return handle(req, res, body);
  });
  servers.push(server);
  return server;
}

function client(options: ConstructorParameters<typeof RegistryClient>[0] = {}): RegistryClient {
  const c = new RegistryClient({ credentials: anonymous, retry: { baseDelayMs: 10, maxDelayMs: 50 }, ...options });
  clients.push(c);
  return c;
}

function manifestCalls(server: LocalServer): number {
  return server.requests.filter((r) => r.url.includes("/manifests/")).length;
}

describe("retries by class", () => {
  it("honours a 429's Retry-After, retries 503 with backoff, and does not retry 404", async () => {
    const answers = [429, 503, 200];
    const server = await registry((req, res) => {
      if (req.url?.includes("missing"))
        return void res.writeHead(404, { "Content-Type": "application/json" }).end(errorBody("MANIFEST_UNKNOWN", "manifest unknown"));
      const status = answers.shift() ?? 200;
      if (status === 429) res.writeHead(429, { "Retry-After": "1" }).end(errorBody("TOOMANYREQUESTS", "slow down"));
      else if (status === 503) res.writeHead(503).end();
      else res.writeHead(200, { "Content-Type": ociManifest }).end(manifest);
    });
    const repo = client().repository(`${server.host}/app`);
    const started = Date.now();
    await repo.fetchManifest(manifestDigest);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(manifestCalls(server)).toBe(3);
    await expect(repo.fetchManifest("missing")).rejects.toMatchObject({ code: RegistryErrorCode.NotFound });
    expect(manifestCalls(server)).toBe(4);
  });

  it("gives up at once when Retry-After is beyond the cap, saying how long the registry asked for", async () => {
    const server = await registry((_req, res) => {
      res
        .writeHead(429, { "Retry-After": "3600", "Content-Type": "application/json" })
        .end(errorBody("TOOMANYREQUESTS", "You have reached your pull rate limit."));
    });
    const repo = client({ retry: { maxRetryAfterMs: 5_000 } }).repository(`${server.host}/app`);
    const error = await repo.fetchManifest("latest").catch((e: unknown) => e);
    expect(error).toMatchObject({ code: RegistryErrorCode.TooManyRequests, kind: "unavailable" });
    expect((error as Error).message).toBe("toomanyrequests: You have reached your pull rate limit. (the registry asks to retry after 3600 s)");
    expect(manifestCalls(server)).toBe(1);
  });

  it("retries a refused connection, then reports it as unavailable in one line", async () => {
    const server = await registry(() => {});
    const port = server.port;
    await server.close();
    servers.length = 0;
    const notices: RetryNotice[] = [];
    const repo = client({ retry: { attempts: 3, baseDelayMs: 5 } }).repository(`127.0.0.1:${port}/app`);
    const error = await collect(repo.fetchBlob({ digest: blobDigest }, { onRetry: (n) => notices.push(n) })).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: RegistryErrorCode.Unavailable, kind: "unavailable" });
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
    expect((error as Error).message).not.toMatch(/\n/);
  });

  it("escapes control characters a registry puts in its error text", async () => {
    const server = await registry((_req, res) => {
      res.writeHead(403, { "Content-Type": "application/json" }).end(errorBody("DENIED", "no\u001b[31m way\nreally"));
    });
    const error = await client()
      .repository(`${server.host}/app`)
      .fetchManifest("latest")
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: RegistryErrorCode.Denied });
    expect((error as Error).message).toBe("denied: no\\u001b[31m way\\u000areally");
  });
});

describe("manifests", () => {
  it("refuses an endless manifest at the cap without buffering it", async () => {
    let written = 0;
    const server = await registry((_req, res) => {
      res.writeHead(200, { "Content-Type": ociManifest });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (!res.destroyed && written < 64 * maxManifestSize) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
      };
      pump();
    });
    const error = await client()
      .repository(`${server.host}/app`)
      .fetchManifest("latest")
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: RegistryErrorCode.TooLarge });
    expect(written).toBeLessThan(16 * maxManifestSize);
  });

  it("refuses a manifest whose Docker-Content-Digest (by tag) or requested digest does not match", async () => {
    const server = await registry((_req, res) => {
      res.writeHead(200, { "Content-Type": ociManifest, "Docker-Content-Digest": `sha256:${"a".repeat(64)}` }).end(manifest);
    });
    const repo = client().repository(`${server.host}/app`);
    const byTag = await repo.fetchManifest("latest").catch((e: unknown) => e);
    expect(byTag).toMatchObject({ code: RegistryErrorCode.DigestMismatch, kind: "dataLoss" });
    const byDigest = await repo.fetchManifest(`sha256:${"b".repeat(64)}`).catch((e: unknown) => e);
    expect(byDigest).toMatchObject({ code: RegistryErrorCode.DigestMismatch });
    expect((byDigest as Error).message).toBe(
      `manifest ${server.host}/app@sha256:${"b".repeat(64)} failed to verify: expected sha256:${"b".repeat(64)}, got ${manifestDigest}`,
    );
  });

  it("refuses schema1 with docker's text", async () => {
    const server = await registry((_req, res) => {
      res
        .writeHead(200, { "Content-Type": "application/vnd.docker.distribution.manifest.v1+prettyjws" })
        .end(JSON.stringify({ schemaVersion: 1, name: "app", tag: "old" }));
    });
    const repo = client().repository(`${server.host}/app`);
    for (const call of [repo.resolve("old"), repo.fetchManifest("old")]) {
      const error = await call.catch((e: unknown) => e);
      expect(error).toMatchObject({ code: RegistryErrorCode.Schema1Unsupported, kind: "unsupported" });
      expect((error as Error).message).toMatch(
        new RegExp(
          `^Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed. Suggest the author of ${server.host}/app:old to upgrade`,
        ),
      );
    }
  });

  it("falls back to GET when HEAD is refused (405) and sends the full Accept list", async () => {
    const server = await registry((req, res) => {
      if (req.method === "HEAD") return void res.writeHead(405).end();
      res.writeHead(200, { "Content-Type": ociManifest }).end(manifest);
    });
    const desc = await client().repository(`${server.host}/app`).resolve("latest");
    expect(desc).toMatchObject({ mediaType: ociManifest, size: manifest.length });
    expect(desc.digest.toString()).toBe(manifestDigest.toString());
    const accept = server.requests.find((r) => r.method === "GET" && r.url.includes("/manifests/"))?.headers.accept ?? "";
    for (const t of [
      "application/vnd.oci.image.index.v1+json",
      ociManifest,
      "application/vnd.docker.distribution.manifest.list.v2+json",
      "application/vnd.docker.distribution.manifest.v2+json",
    ]) {
      expect(accept).toContain(t);
    }
  });
});

describe("blobs", () => {
  it("resumes after a reset mid-blob with a Range request from the byte reached", async () => {
    let calls = 0;
    const server = await registry((req, res) => {
      calls++;
      if (calls === 1) {
        res.writeHead(200, { "Content-Length": blob.length });
        res.write(blob.subarray(0, 1 << 20), () => setTimeout(() => res.destroy(), 20));
        return;
      }
      const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? "")?.[1]);
      res
        .writeHead(206, { "Content-Range": `bytes ${start}-${blob.length - 1}/${blob.length}`, "Content-Length": blob.length - start })
        .end(blob.subarray(start));
    });
    const notices: RetryNotice[] = [];
    const bytes = await collect(
      client()
        .repository(`${server.host}/app`)
        .fetchBlob({ digest: blobDigest, size: blob.length }, { onRetry: (n) => notices.push(n) }),
    );
    expect(bytes.equals(blob)).toBe(true);
    expect(notices).toHaveLength(1);
    expect(notices[0]?.offset).toBeGreaterThan(0);
    expect(server.requests[2]?.headers.range).toBe(`bytes=${notices[0]?.offset}-`);
  });

  it("resumes after a stall", async () => {
    let calls = 0;
    const server = await registry((req, res) => {
      calls++;
      if (calls === 1) {
        res.writeHead(200, { "Content-Length": blob.length });
        res.write(blob.subarray(0, 1000)); // then nothing
        return;
      }
      const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? "")?.[1]);
      res.writeHead(206, { "Content-Range": `bytes ${start}-${blob.length - 1}/${blob.length}` }).end(blob.subarray(start));
    });
    const bytes = await collect(client({ stallTimeoutMs: 200 }).repository(`${server.host}/app`).fetchBlob({ digest: blobDigest, size: blob.length }));
    expect(bytes.equals(blob)).toBe(true);
    expect(server.requests.at(-1)?.headers.range).toBe("bytes=1000-");
  });

  it("reads past the prefix of a 200 answered to a Range request; refuses a 206 that starts elsewhere", async () => {
    let wrongStart = false;
    const server = await registry((_req, res) => {
      if (wrongStart) res.writeHead(206, { "Content-Range": `bytes 0-${blob.length - 1}/${blob.length}` }).end(blob);
      else res.writeHead(200, { "Content-Length": blob.length }).end(blob);
    });
    const repo = client().repository(`${server.host}/app`);
    const tail = await collect(repo.fetchBlob({ digest: blobDigest, size: blob.length }, { offset: 12345 }));
    expect(tail.equals(blob.subarray(12345))).toBe(true);
    wrongStart = true;
    const error = await collect(repo.fetchBlob({ digest: blobDigest, size: blob.length }, { offset: 12345 })).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: RegistryErrorCode.Protocol });
    expect((error as Error).message).toMatch(/asked for bytes from 12345, the server sent Content-Range "bytes 0-/);
  });

  it("ends in an error when more bytes than the descriptor's size arrive", async () => {
    const server = await registry((_req, res) => void res.writeHead(200).end(blob));
    const error = await collect(client().repository(`${server.host}/app`).fetchBlob({ digest: blobDigest, size: 1000 })).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: RegistryErrorCode.SizeMismatch, kind: "dataLoss" });
  });

  it("never decodes Content-Encoding: the raw bytes come through", async () => {
    const gz = gzipSync(Buffer.from("layer"));
    const server = await registry((_req, res) => void res.writeHead(200, { "Content-Encoding": "gzip", "Content-Length": gz.length }).end(gz));
    const bytes = await collect(
      client()
        .repository(`${server.host}/app`)
        .fetchBlob({ digest: digestFromBytes(gz), size: gz.length }),
    );
    expect(bytes.equals(gz)).toBe(true);
    expect(server.requests.at(-1)?.headers["accept-encoding"]).toBeUndefined();
  });

  it("stops at once when the caller aborts", async () => {
    const server = await registry((_req, res) => {
      res.writeHead(200, { "Content-Length": blob.length });
      res.write(blob.subarray(0, 1000));
    });
    const controller = new AbortController();
    const stream = client().repository(`${server.host}/app`).fetchBlob({ digest: blobDigest, size: blob.length }, { signal: controller.signal });
    const seen: number[] = [];
    const error = await (async () => {
      for await (const chunk of stream) {
        seen.push(chunk.length);
        controller.abort();
      }
    })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: RegistryErrorCode.Aborted, kind: "canceled" });
    expect(server.requests.filter((r) => r.url.includes("/blobs/"))).toHaveLength(1);
  });
});

describe("uploads", () => {
  /** A registry that takes uploads (POST → PATCH → PUT) into memory; `stallPut` makes it never answer the PUT. */
  async function uploadRegistry(stallPut = false) {
    let received = Buffer.alloc(0);
    const server = await registry((req, res, body) => {
      if (req.method === "POST") return void res.writeHead(202, { Location: "/v2/app/blobs/uploads/u1?state=x" }).end();
      if (req.method === "PATCH") {
        received = Buffer.concat([received, body]);
        return void res.writeHead(202, { Location: "/v2/app/blobs/uploads/u1?state=y", Range: `0-${received.length - 1}` }).end();
      }
      if (req.method === "PUT") {
        if (stallPut) return; // never answers
        const digest = new URL(req.url ?? "", "http://x").searchParams.get("digest") ?? "";
        return void res.writeHead(201, { "Docker-Content-Digest": digest }).end();
      }
      res.writeHead(204).end();
    });
    return { server, received: () => received };
  }

  it("a long upload that keeps sending is not a stall; a server that stops answering is", async () => {
    const { server, received } = await uploadRegistry();
    const c = client({ stallTimeoutMs: 150 });
    async function* slow() {
      for (let i = 0; i < 8; i++) {
        await new Promise((r) => setTimeout(r, 60));
        yield Buffer.alloc(1000, i);
      }
    }
    const pushed = await c.repository(`${server.host}/app`).pushBlob(slow());
    expect(pushed.size).toBe(8000);
    expect(received().length).toBe(8000);
    expect(server.requests.find((r) => r.method === "PUT")?.url).toBe(
      `/v2/app/blobs/uploads/u1?state=y&digest=${encodeURIComponent(pushed.digest.toString())}`,
    );

    const stalled = await uploadRegistry(true);
    const error = await client({ stallTimeoutMs: 150, retry: { attempts: 1 } })
      .repository(`${stalled.server.host}/app`)
      .pushBlob(
        (async function* () {
          yield Buffer.from("x");
        })(),
      )
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: RegistryErrorCode.Unavailable });
    expect((error as Error).message).toMatch(/no response after 150 ms/);
    // The abandoned session is cancelled.
    expect(stalled.server.requests.at(-1)?.method).toBe("DELETE");
  });

  it("an upload source's own error comes out unchanged, and the session is cancelled", async () => {
    const { server } = await uploadRegistry();
    const boom = new Error("disk read failed");
    const error = await client()
      .repository(`${server.host}/app`)
      .pushBlob(
        (async function* () {
          yield Buffer.from("partial");
          throw boom;
        })(),
      )
      .catch((e: unknown) => e);
    expect(error).toBe(boom);
    expect(server.requests.at(-1)?.method).toBe("DELETE");
  });
});
