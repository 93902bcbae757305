import { request } from "node:http";
import { createMemoryBackend } from "@store/backend-memory";
import type { Digest } from "@store/digest";
import { which } from "@store/test-peers";
import { buildTestImage, type TestImage } from "@store/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRegistryServer } from "../src/index";
import { curl, errorsOf, type ServeFixture, startFixture } from "./serve-fixture";

const hex = "a".repeat(64);

// Whatever a client sends, it gets a clear 4xx with the registry's error body, nothing stored
// changes, and the server keeps serving others.
describe.skipIf(!which("curl"))("hostile and mistaken requests, through curl", () => {
  let fixture: ServeFixture;
  let image: TestImage;
  let secret: TestImage;
  const held = async () => {
    const ids: string[] = [];
    await fixture.blobs.walk((id) => void ids.push(id.toString()));
    return ids;
  };

  beforeAll(async () => {
    image = await buildTestImage([{ "etc/motd": "hello\n" }]);
    secret = await buildTestImage([{ "etc/secret": "only for team/private\n" }]);
    const privateDigests = new Set([secret.manifest, secret.config, ...secret.layers].map((b) => b.digest));
    fixture = await startFixture(createMemoryBackend(), {
      // team/private sees everything; other repositories never see its image.
      hasDigest: async (repository: string, digest: Digest) => repository === "team/private" || !privateDigests.has(digest.toString()),
    });
    await fixture.addImage("team/app", "1", image);
    await fixture.addImage("team/private", "1", secret);
  });
  afterAll(() => fixture?.close());

  const expectError = async (path: string, status: number, code: string, args: string[] = []) => {
    const r = await curl(fixture.url(path), args);
    expect(r.status, path).toBe(status);
    expect(r.headers["content-type"]).toBe("application/json");
    const [entry] = errorsOf(r.body);
    expect(entry!.code, path).toBe(code);
    expect(entry!.message).toMatch(/\S/);
    return r;
  };

  it.each([
    "/v2/../../etc/passwd/manifests/latest",
    "/v2/team/../../etc/manifests/latest",
    `/v2/%2e%2e/%2e%2e/etc/blobs/sha256:${hex}`,
    "/v2/team/..%2f..%2fetc/manifests/latest",
    "/v2/Team/App/manifests/1",
    "/v2/team//app/manifests/1",
    "/v2/-team/manifests/1",
    "/v2/team/app%00/manifests/1",
    `/v2/${"a".repeat(256)}/manifests/1`,
    `/v2/${"a/".repeat(130)}a/tags/list`,
  ])("refuses the name in %s with 400 NAME_INVALID", async (path) => {
    await expectError(path, 400, "NAME_INVALID");
  });

  it.each([
    `/v2/team/app/blobs/sha256:${"z".repeat(64)}`,
    "/v2/team/app/blobs/sha256:abc",
    `/v2/team/app/blobs/md5:${"a".repeat(32)}`,
    `/v2/team/app/blobs/SHA256:${hex}`,
    `/v2/team/app/manifests/sha256:${"A".repeat(64)}`,
    "/v2/team/app/blobs/latest",
  ])("refuses the digest in %s with 400 DIGEST_INVALID", async (path) => {
    await expectError(path, 400, "DIGEST_INVALID");
  });

  it.each(["/v2/team/app/manifests/.hidden", `/v2/team/app/manifests/${"t".repeat(129)}`, "/v2/team/app/manifests/a%2fb"])(
    "refuses the tag in %s with 400 TAG_INVALID",
    async (path) => {
      await expectError(path, 400, "TAG_INVALID");
    },
  );

  it("answers a path too long to be a request with a 4xx, and a request line over Node's header limit with 431", async () => {
    expect((await curl(fixture.url(`/v2/${"a".repeat(3000)}/manifests/1`))).status).toBe(404);
    expect((await curl(fixture.url(`/v2/${"a".repeat(20_000)}/manifests/1`))).status).toBe(431);
    expect((await curl(fixture.url("/v2/"), ["-H", `X-Junk: ${"j".repeat(20_000)}`])).status).toBe(431);
  });

  it.each([
    ["PUT", "/v2/team/app/manifests/2"],
    ["PUT", "/v2/team/app/manifests/1"],
    ["DELETE", "/v2/team/app/manifests/1"],
    ["DELETE", `/v2/team/app/blobs/${`sha256:${hex}`}`],
    ["POST", "/v2/team/app/blobs/uploads/"],
    ["POST", `/v2/team/app/blobs/uploads/?mount=sha256:${hex}&from=team/private`],
    ["PATCH", "/v2/team/app/blobs/uploads/0b0b"],
    ["PUT", `/v2/team/app/blobs/uploads/0b0b?digest=sha256:${hex}`],
    ["OPTIONS", "/v2/team/app/manifests/1"],
  ])("answers %s %s with 405 UNSUPPORTED, storing nothing", async (method, path) => {
    const before = await held();
    const r = await expectError(path, 405, "UNSUPPORTED", [
      "-X",
      method,
      "-H",
      "Content-Type: application/vnd.docker.distribution.manifest.v2+json",
      "--data-binary",
      "{}",
    ]);
    expect(r.headers.allow).toBe("GET, HEAD");
    expect(await held()).toEqual(before);
    // Still tagged and served as before.
    expect((await curl(fixture.url("/v2/team/app/manifests/1"))).body.equals(image.manifest.bytes)).toBe(true);
  });

  it("answers a 64 MiB upload with 405 at once, closing instead of reading it, and serves on", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(fixture.url("/v2/team/app/blobs/uploads/"), { method: "POST", headers: { "Content-Length": String(64 << 20) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", (e) => (/EPIPE|ECONNRESET|socket hang up/.test(e.message) ? undefined : reject(e)));
      req.write(Buffer.alloc(1 << 20)); // a first MiB, then nothing more: the answer must not wait for the rest
    });
    expect(status).toBe(405);
    expect((await curl(fixture.url("/v2/"))).status).toBe(200);
  });

  it("keeps serving when the onRequest listener throws", async () => {
    const server = await startRegistryServer(
      { blobs: fixture.blobs, resolveTag: async () => undefined },
      {
        onRequest: () => {
          throw new Error("listener bug");
        },
      },
    );
    try {
      expect((await curl(`http://${server.address}/v2/`)).status).toBe(200);
      expect((await curl(`http://${server.address}/v2/`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it("answers an upload session status (GET) with 404 BLOB_UPLOAD_UNKNOWN: there are none", async () => {
    await expectError("/v2/team/app/blobs/uploads/0b0b", 404, "BLOB_UPLOAD_UNKNOWN");
  });

  it("hides a digest from a repository that may not see it, as if it did not exist", async () => {
    await expectError(`/v2/team/app/blobs/${secret.layers[0]!.digest}`, 404, "BLOB_UNKNOWN");
    expect((await curl(fixture.url(`/v2/team/app/blobs/${secret.config.digest}`), ["-I"])).status).toBe(404);
    await expectError(`/v2/team/app/manifests/${secret.manifest.digest}`, 404, "MANIFEST_UNKNOWN");
    // The repository that may see it gets it.
    const r = await curl(fixture.url(`/v2/team/private/blobs/${secret.layers[0]!.digest}`));
    expect(r.status).toBe(200);
    expect(r.body.equals(secret.layers[0]!.bytes)).toBe(true);
  });

  it("answers a missing tag, manifest or blob with the registry's 404 codes", async () => {
    await expectError("/v2/team/app/manifests/2", 404, "MANIFEST_UNKNOWN");
    await expectError("/v2/team/nothing/manifests/1", 404, "MANIFEST_UNKNOWN");
    await expectError(`/v2/team/app/manifests/sha256:${hex}`, 404, "MANIFEST_UNKNOWN");
    await expectError(`/v2/team/app/blobs/sha256:${hex}`, 404, "BLOB_UNKNOWN");
    await expectError("/v2/team/nothing/tags/list", 404, "NAME_UNKNOWN");
    await expectError("/v2/_catalog", 404, "NOT_FOUND");
    await expectError("/v3/", 404, "NOT_FOUND");
  });

  it("does not serve a config or a layer as a manifest", async () => {
    await expectError(`/v2/team/app/manifests/${image.config.digest}`, 404, "MANIFEST_UNKNOWN");
    await expectError(`/v2/team/app/manifests/${image.layers[0]!.digest}`, 404, "MANIFEST_UNKNOWN");
  });

  it("serves a manifest's exact bytes with its type, digest, length and ETag, HEAD alike, and 304 for its ETag", async () => {
    const get = await curl(fixture.url("/v2/team/app/manifests/1"));
    expect(get.status).toBe(200);
    expect(get.body.equals(image.manifest.bytes)).toBe(true);
    const expected = {
      "content-type": image.manifest.mediaType,
      "docker-content-digest": image.manifest.digest,
      "content-length": String(image.manifest.size),
      etag: `"${image.manifest.digest}"`,
    };
    expect(get.headers).toMatchObject(expected);
    const head = await curl(fixture.url(`/v2/team/app/manifests/${image.manifest.digest}`), ["-I"]);
    expect(head.status).toBe(200);
    expect(head.headers).toMatchObject(expected);
    const cached = await curl(fixture.url("/v2/team/app/manifests/1"), ["-H", `If-None-Match: "${image.manifest.digest}"`]);
    expect(cached.status).toBe(304);
  });

  it("pages tags as distribution does, and refuses a bad n with PAGINATION_NUMBER_INVALID", async () => {
    for (const t of ["b", "a", "c", "d"]) fixture.tags.get("team/app")!.set(t, fixture.tags.get("team/app")!.get("1")!);
    const first = await curl(fixture.url("/v2/team/app/tags/list?n=2"));
    expect(JSON.parse(first.body.toString())).toEqual({ name: "team/app", tags: ["1", "a"] });
    expect(first.headers.link).toBe('</v2/team/app/tags/list?last=a&n=2>; rel="next"');
    const second = await curl(fixture.url("/v2/team/app/tags/list?last=a&n=2"));
    expect(JSON.parse(second.body.toString()).tags).toEqual(["b", "c"]);
    const last = await curl(fixture.url("/v2/team/app/tags/list?last=c&n=2"));
    expect(JSON.parse(last.body.toString()).tags).toEqual(["d"]);
    expect(last.headers.link).toBeUndefined();
    expect(JSON.parse((await curl(fixture.url("/v2/team/app/tags/list?n=0"))).body.toString()).tags).toEqual([]);
    expect(JSON.parse((await curl(fixture.url("/v2/team/app/tags/list?last=bb"))).body.toString()).tags).toEqual(["c", "d"]);
    for (const n of ["-1", "abc", "1e3", "99999999999"]) await expectError(`/v2/team/app/tags/list?n=${n}`, 400, "PAGINATION_NUMBER_INVALID");
  });

  it("answers a failing content with a 500 that names nothing behind it, records why, and serves on", async () => {
    const records: Error[] = [];
    const broken = await startRegistryServer(
      {
        blobs: fixture.blobs,
        resolveTag: async () => {
          throw new Error("connect ECONNREFUSED 10.1.2.3:443 /var/lib/secret/path");
        },
      },
      { onRequest: (r) => r.error && records.push(r.error) },
    );
    try {
      const r = await curl(`http://${broken.address}/v2/team/app/manifests/1`);
      expect(r.status).toBe(500);
      expect(errorsOf(r.body)[0]!.code).toBe("UNKNOWN");
      expect(r.body.toString()).not.toContain("secret");
      expect(records[0]?.message).toContain("ECONNREFUSED");
      expect((await curl(`http://${broken.address}/v2/team/app/blobs/${image.layers[0]!.digest}`)).status).toBe(200);
    } finally {
      await broken.close();
    }
  });

  it("reads no content larger than maxManifestBytes as a manifest, and hands `ns` to the content", async () => {
    const scopes: unknown[] = [];
    const small = await startRegistryServer(
      {
        blobs: fixture.blobs,
        resolveTag: async (repository, tag, scope) => {
          scopes.push({ repository, tag, scope });
          return fixture.tags.get(repository)?.get(tag);
        },
      },
      { maxManifestBytes: 100 },
    );
    try {
      const r = await curl(`http://${small.address}/v2/team/app/manifests/${image.manifest.digest}`);
      expect(r.status).toBe(404);
      expect(errorsOf(r.body)[0]!.code).toBe("MANIFEST_UNKNOWN");
      await curl(`http://${small.address}/v2/library/busybox/manifests/1?ns=docker.io`);
      expect(scopes).toEqual([{ repository: "library/busybox", tag: "1", scope: { namespace: "docker.io" } }]);
    } finally {
      await small.close();
    }
  });

  it("refuses bad options with a one-line ERR_REGISTRYSERVER_INVALID_OPTIONS, and a taken port with ERR_REGISTRYSERVER_LISTEN_FAILED", async () => {
    const content = { blobs: fixture.blobs, resolveTag: async () => undefined };
    await expect(startRegistryServer(content, { port: 70000 })).rejects.toMatchObject({ code: "ERR_REGISTRYSERVER_INVALID_OPTIONS", kind: "invalid" });
    await expect(startRegistryServer(content, { host: "" })).rejects.toMatchObject({ code: "ERR_REGISTRYSERVER_INVALID_OPTIONS" });
    await expect(startRegistryServer(content, { port: fixture.server.port })).rejects.toMatchObject({
      code: "ERR_REGISTRYSERVER_LISTEN_FAILED",
      kind: "unavailable",
      message: expect.stringContaining("EADDRINUSE"),
    });
  });
});
