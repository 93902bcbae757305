import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  type FaultProxyPeer,
  type RegistryPeer,
  pushArchiveToRegistry,
  registrySkipReason,
  skopeoSkipReason,
  startFaultProxy,
  startRegistry,
  writeDockerArchive,
} from "../src/index";

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe.skipIf(registrySkipReason() ?? skopeoSkipReason())("startFaultProxy in front of a registry", () => {
  let registry: RegistryPeer;
  let proxy: FaultProxyPeer;
  let dir: string;
  let blobPath: string;
  let blob: Buffer;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "fault-proxy-test-"));
    registry = await startRegistry();
    const archive = join(dir, "img.tar");
    // Random bytes: gzip cannot shrink them, so the layer blob is about 256 KiB.
    await writeDockerArchive(archive, "img:1", [{ random: randomBytes(256 * 1024) }]);
    await pushArchiveToRegistry(archive, `${registry.host}/img:1`);
    const manifest = (await (
      await fetch(`${registry.url}/v2/img/manifests/1`, { headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json" } })
    ).json()) as { layers: { digest: string }[] };
    blobPath = `/v2/img/blobs/${manifest.layers[0]!.digest}`;
    blob = Buffer.from(await (await fetch(`${registry.url}${blobPath}`)).arrayBuffer());
    proxy = await startFaultProxy({ target: registry.url });
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${proxy.url}${path}`, { headers });
  const body = async (r: Response) => Buffer.from(await r.arrayBuffer());

  test("without faults it forwards requests and bodies unchanged, and counts them", async () => {
    proxy.setFaults([]);
    proxy.requests.length = 0;
    expect((await get("/v2/")).status).toBe(200);
    const r = await get(blobPath);
    expect(sha256(await body(r))).toBe(sha256(blob));
    expect(proxy.count("/blobs/")).toBe(1);
    expect(proxy.bytesSent("/blobs/")).toBe(blob.length);
    expect(proxy.requests.map((q) => [q.method, q.status, q.fault])).toEqual([
      ["GET", 200, undefined],
      ["GET", 200, undefined],
    ]);
  });

  test("reset after N bytes: the client sees an error mid-body; the proxy counts exactly N", async () => {
    proxy.setFaults([{ path: "/blobs/", fault: { kind: "reset", afterBytes: 10_000 }, times: 1 }]);
    proxy.requests.length = 0;
    const r = await get(blobPath);
    expect(r.status).toBe(200);
    await expect(r.arrayBuffer()).rejects.toThrow();
    expect(proxy.requests[0]).toMatchObject({ fault: "reset", bytes: 10_000 });
    // times: 1 — the next request goes through whole.
    expect((await body(await get(blobPath))).length).toBe(blob.length);
  });

  test("truncate after N bytes: the body ends short of its Content-Length", async () => {
    proxy.setFaults([{ path: blobPath, fault: { kind: "truncate", afterBytes: 5_000 } }]);
    const r = await get(blobPath);
    expect(r.headers.get("content-length")).toBe(String(blob.length));
    await expect(r.arrayBuffer()).rejects.toThrow();
  });

  test("429 with Retry-After and 503, answered without asking the registry", async () => {
    proxy.setFaults([
      { method: "GET", path: "/manifests/", fault: { kind: "status", status: 429, retryAfter: 3 }, times: 1 },
      { path: "/manifests/", fault: { kind: "status", status: 503 }, times: 1 },
    ]);
    const first = await get("/v2/img/manifests/1");
    expect(first.status).toBe(429);
    expect(first.headers.get("retry-after")).toBe("3");
    expect(((await first.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe("TOOMANYREQUESTS");
    expect((await get("/v2/img/manifests/1")).status).toBe(503);
    expect((await get("/v2/img/manifests/1")).status).toBe(200);
    expect(proxy.faults.map((f) => f.hits)).toEqual([1, 1]);
  });

  test("stall before the response and in the middle of the body", async () => {
    proxy.setFaults([{ path: "/v2/", fault: { kind: "stall", ms: 300 }, times: 1 }]);
    let start = Date.now();
    expect((await get("/v2/")).status).toBe(200);
    expect(Date.now() - start).toBeGreaterThanOrEqual(290);

    proxy.setFaults([{ path: blobPath, fault: { kind: "stall", ms: 300, afterBytes: 1_000 }, times: 1 }]);
    start = Date.now();
    const r = await get(blobPath);
    const headersAt = Date.now() - start;
    expect(sha256(await body(r))).toBe(sha256(blob));
    expect(Date.now() - start - headersAt).toBeGreaterThanOrEqual(250);
  });

  test("ignoreRange: 200 with the whole blob instead of 206", async () => {
    proxy.setFaults([]);
    const honoured = await get(blobPath, { Range: "bytes=100-" });
    expect(honoured.status).toBe(206);
    expect((await body(honoured)).length).toBe(blob.length - 100);
    proxy.setFaults([{ fault: { kind: "ignoreRange" } }]);
    const ignored = await get(blobPath, { Range: "bytes=100-" });
    expect(ignored.status).toBe(200);
    expect((await body(ignored)).length).toBe(blob.length);
    expect(proxy.requests.at(-1)).toMatchObject({ range: "bytes=100-", fault: "ignoreRange" });
  });

  test("corrupt flips one byte: same length, another digest; rules change while running", async () => {
    proxy.faults.length = 0;
    proxy.faults.push({ path: "/blobs/", fault: { kind: "corrupt", atByte: 70_000 } });
    const bad = await body(await get(blobPath));
    expect(bad.length).toBe(blob.length);
    expect(bad[70_000]).toBe(blob[70_000]! ^ 0xff);
    expect(sha256(bad)).not.toBe(sha256(blob));
    proxy.faults.length = 0;
    expect(sha256(await body(await get(blobPath)))).toBe(sha256(blob));
  });

  test("bad input: a target that is not a URL fails at once with one line", async () => {
    await expect(startFaultProxy({ target: "127.0.0.1:5000" })).rejects.toThrow("startFaultProxy: target must be an http(s) URL, got 127.0.0.1:5000");
  });
});
