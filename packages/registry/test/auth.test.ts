import { afterEach, describe, expect, it } from "vitest";
import { digestFromBytes } from "@store/digest";
import { RegistryClient, RegistryErrorCode, parseWwwAuthenticate } from "../src/index";
import { requestToken } from "../src/auth/token-request";
import { HttpTransport } from "../src/client/http-transport";
import { anonymous, errorBody, type LocalServer, manifest, manifestDigest, startLocalServer } from "./local-server";
import { collect } from "./registry-fixture";

const servers: LocalServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

function basic(user: string, pass: string): string {
  return `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
}

/** A registry behind a token server (both on one local server, as docker's auth and registry are two services). */
async function tokenRegistry(options: { users?: Record<string, string>; onManifest?: (auth: string | undefined) => number | undefined } = {}) {
  let issued = 0;
  const server = await startLocalServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/token") {
      const auth = req.headers.authorization;
      if (options.users) {
        const ok = Object.entries(options.users).some(([u, p]) => auth === basic(u, p));
        if (!ok) {
          res.writeHead(401, { "Content-Type": "application/json" }).end(JSON.stringify({ details: "incorrect username or password" }));
          return;
        }
      }
      issued++;
      res
        .writeHead(200, { "Content-Type": "application/json" })
        .end(JSON.stringify({ access_token: `t${issued}`, expires_in: 300, scopes: url.searchParams.getAll("scope") }));
      return;
    }
    const challenge = `Bearer realm="http://${server.host}/token",service="local,registry",scope="repository:app:pull"`;
    if (url.pathname === "/v2/") {
      res.writeHead(401, { "WWW-Authenticate": challenge }).end();
      return;
    }
    const auth = req.headers.authorization;
    const forced = options.onManifest?.(auth);
    if (forced !== undefined) {
      res
        .writeHead(forced, { "WWW-Authenticate": `${challenge},error="insufficient_scope"`, "Content-Type": "application/json" })
        .end(errorBody("UNAUTHORIZED", "authentication required"));
      return;
    }
    if (auth === undefined || !auth.startsWith("Bearer t")) {
      res.writeHead(401, { "WWW-Authenticate": challenge, "Content-Type": "application/json" }).end(errorBody("UNAUTHORIZED", "authentication required"));
      return;
    }
    res.writeHead(200, { "Content-Type": "application/vnd.oci.image.manifest.v1+json", "Docker-Content-Digest": manifestDigest.toString() }).end(manifest);
  });
  servers.push(server);
  return server;
}

describe("WWW-Authenticate", () => {
  it("parses several challenges, quoted commas and escapes, lower-cases keys, Bearer first", () => {
    const parsed = parseWwwAuthenticate([
      'Basic realm="r"',
      'Bearer Realm="https://auth.example/token",Service="reg",scope="repository:a/b:pull,push repository:c:pull", error="insufficient_scope"',
      'Newauth realm="x\\"y", Bearer realm="https://two"',
    ]);
    expect(parsed.map((c) => c.scheme)).toEqual(["bearer", "bearer", "basic", "newauth"]);
    expect(parsed[0]?.params).toEqual({
      realm: "https://auth.example/token",
      service: "reg",
      scope: "repository:a/b:pull,push repository:c:pull",
      error: "insufficient_scope",
    });
    expect(parsed[3]?.params.realm).toBe('x"y');
    expect(parseWwwAuthenticate(undefined)).toEqual([]);
  });
});

describe("token auth against a local token server", () => {
  it("pings once, fetches one token per scope set (single-flight), and sends it only to the registry", async () => {
    const server = await tokenRegistry();
    const client = new RegistryClient({ credentials: anonymous });
    const repo = client.repository(`${server.host}/app`);
    const [a, b] = await Promise.all([repo.fetchManifest(manifestDigest), repo.fetchManifest("latest")]);
    expect(a.descriptor.digest.toString()).toBe(manifestDigest.toString());
    expect(b.descriptor.digest.toString()).toBe(manifestDigest.toString());
    await repo.resolve("latest");
    const pings = server.requests.filter((r) => r.url === "/v2/");
    const tokens = server.requests.filter((r) => r.url.startsWith("/token"));
    expect(pings).toHaveLength(1);
    expect(tokens).toHaveLength(1);
    const tokenUrl = new URL(tokens[0]?.url ?? "", "http://x");
    expect(tokenUrl.searchParams.get("service")).toBe("local,registry");
    expect(tokenUrl.searchParams.getAll("scope")).toEqual(["repository:app:pull"]);
    // Anonymous: no credentials to the token server.
    expect(tokens[0]?.headers.authorization).toBeUndefined();
    for (const r of server.requests.filter((r) => r.url.startsWith("/v2/app/"))) {
      expect(r.headers["docker-distribution-api-version"]).toBe("registry/2.0");
      expect(r.headers["user-agent"]).toMatch(/^store-registry\//);
      expect(r.headers.authorization).toBe("Bearer t1");
    }
    client.close();
  });

  it("respects a token's lifetime: one issued long ago is fetched again", async () => {
    let issued = 0;
    const server = await startLocalServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      if (url.pathname === "/token") {
        issued++;
        const body = { token: `t${issued}`, expires_in: 60, issued_at: new Date(Date.now() - 120_000).toISOString() };
        return void res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(body));
      }
      if (url.pathname !== "/v2/" && req.headers.authorization?.startsWith("Bearer t")) {
        return void res.writeHead(200, { "Content-Type": "application/vnd.oci.image.manifest.v1+json" }).end(manifest);
      }
      res.writeHead(401, { "WWW-Authenticate": `Bearer realm="${server.url}/token",service="s"` }).end();
    });
    servers.push(server);
    const client = new RegistryClient({ credentials: anonymous });
    const repo = client.repository(`${server.host}/app`);
    await repo.fetchManifest("a");
    await repo.fetchManifest("b");
    expect(issued).toBe(2);
    client.close();
  });

  it("asks one token for a mount with both scopes, repeated scope parameters, the target first", async () => {
    const server = await tokenRegistry();
    const client = new RegistryClient({ credentials: anonymous });
    await client
      .repository(`${server.host}/app`)
      .mountBlob(manifestDigest, "other/repo")
      .catch(() => undefined);
    const token = server.requests.find((r) => r.url.startsWith("/token"));
    expect(new URL(token?.url ?? "", "http://x").searchParams.getAll("scope")).toEqual(["repository:app:pull,push", "repository:other/repo:pull"]);
    client.close();
  });

  it("sends Basic credentials to the token server; a refused login is one line with the server's text", async () => {
    const server = await tokenRegistry({ users: { alice: "secret" } });
    const good = new RegistryClient({ credentials: { get: async () => ({ username: "alice", password: "secret" }) } });
    await good.repository(`${server.host}/app`).fetchManifest("latest");
    const token = server.requests.find((r) => r.url.startsWith("/token"));
    expect(token?.headers.authorization).toBe(basic("alice", "secret"));
    expect(new URL(token?.url ?? "", "http://x").searchParams.get("account")).toBe("alice");

    const bad = new RegistryClient({ credentials: { get: async () => ({ username: "alice", password: "wrong" }) } });
    const error = await bad
      .repository(`${server.host}/app`)
      .fetchManifest("latest")
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: RegistryErrorCode.Unauthorized, kind: "invalid" });
    expect((error as Error).message).toMatch(/unauthorized: incorrect username or password$/);
    good.close();
    bad.close();
  });

  it("re-authenticates once on insufficient_scope, then fails hard on a second 401", async () => {
    let refusals = 1;
    const server = await tokenRegistry({ onManifest: () => (refusals-- > 0 ? 401 : undefined) });
    const client = new RegistryClient({ credentials: anonymous });
    await client.repository(`${server.host}/app`).fetchManifest("latest");
    expect(server.requests.filter((r) => r.url.startsWith("/token"))).toHaveLength(2);

    refusals = 10;
    const before = server.requests.length;
    const error = await client
      .repository(`${server.host}/app`)
      .fetchManifest("latest")
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: RegistryErrorCode.Unauthorized });
    expect((error as Error).message).toBe("unauthorized: authentication required");
    // One try, one re-auth (a new token), one more try: no loop.
    expect(server.requests.slice(before).filter((r) => r.url.startsWith("/v2/app/"))).toHaveLength(2);
    client.close();
  });

  it("uses an identity token with the OAuth POST, falling back to GET when the server refuses the POST", async () => {
    const server = await startLocalServer((req, res, body) => {
      const url = new URL(req.url ?? "/", "http://x");
      if (url.pathname === "/token" && req.method === "POST") {
        const form = new URLSearchParams(body.toString());
        if (form.get("refresh_token") === "rt" && form.get("grant_type") === "refresh_token") {
          res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ token: "from-post" }));
        } else res.writeHead(404).end();
        return;
      }
      if (url.pathname === "/token") {
        res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ token: "from-get" }));
        return;
      }
      res.writeHead(401, { "WWW-Authenticate": `Bearer realm="http://${server.host}/token",service="s"` }).end();
    });
    servers.push(server);
    const transport = new HttpTransport({ userAgent: "t", connectTimeoutMs: 5000, stallTimeoutMs: 5000, tlsFor: async () => ({}) });
    const realm = `${server.url}/token`;
    const viaPost = await requestToken({
      transport,
      realm,
      service: "s",
      scopes: ["repository:a:pull"],
      credentials: { identityToken: "rt" },
      allowHttp: true,
    });
    expect(viaPost.token).toBe("from-post");
    const post = server.requests.find((r) => r.method === "POST");
    expect(post?.headers["content-type"]).toMatch(/^application\/x-www-form-urlencoded/);
    const viaGet = await requestToken({ transport, realm, service: "s", scopes: [], credentials: { identityToken: "expired" }, allowHttp: true });
    expect(viaGet.token).toBe("from-get");
    // An http realm is refused unless the registry itself may be plain http.
    await expect(requestToken({ transport, realm, scopes: [], allowHttp: false })).rejects.toMatchObject({ code: RegistryErrorCode.InsecureRefused });
    // A public registry may not send credentials to a private or loopback address, even over https.
    for (const internal of ["https://127.0.0.1/token", "https://10.1.2.3/token", "https://[fe80::1]/token", "https://169.254.169.254/token"]) {
      await expect(requestToken({ transport, realm: internal, scopes: [], allowHttp: false }), internal).rejects.toMatchObject({
        code: RegistryErrorCode.InsecureRefused,
        message: expect.stringMatching(/private or loopback/),
      });
    }
    // …but a registry that is itself on a private address may keep its token server there.
    await expect(
      requestToken({ transport, realm: `${server.url.replace("http:", "https:")}/token`, scopes: [], allowHttp: false, registryHost: "10.0.0.5:443" }),
    ).rejects.toThrow(
      /^GET https:\/\/127\.0\.0\.1:\d+\/token: /, // past the guard: the local server speaks no TLS
    );
    transport.close();
  });

  it("sends Basic on every request to a registry that challenges with Basic", async () => {
    const server = await startLocalServer((req, res) => {
      if (req.headers.authorization !== basic("u", "p")) {
        res
          .writeHead(401, { "WWW-Authenticate": 'Basic realm="registry"', "Content-Type": "application/json" })
          .end(errorBody("UNAUTHORIZED", "authentication required"));
        return;
      }
      if (req.url === "/v2/") res.writeHead(200).end("{}");
      else res.writeHead(200, { "Content-Type": "application/vnd.oci.image.manifest.v1+json" }).end(manifest);
    });
    servers.push(server);
    const client = new RegistryClient({ credentials: { get: async () => ({ username: "u", password: "p" }) } });
    const repo = client.repository(`${server.host}/app`);
    await repo.fetchManifest("a");
    await repo.fetchManifest("b");
    const manifests = server.requests.filter((r) => r.url.startsWith("/v2/app/"));
    expect(manifests.map((r) => r.headers.authorization)).toEqual([basic("u", "p"), basic("u", "p")]);
    client.close();
  });

  it("follows a blob redirect to another host without Authorization, keeping Accept and Range", async () => {
    const storage = await startLocalServer((req, res) => {
      const data = Buffer.from("0123456789");
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
      if (range) {
        const start = Number(range[1]);
        res.writeHead(206, { "Content-Range": `bytes ${start}-9/10` }).end(data.subarray(start));
      } else res.writeHead(200).end(data);
    });
    servers.push(storage);
    const registry = await tokenRegistry();
    const client = new RegistryClient({ credentials: anonymous });
    const repo = client.repository(`${registry.host}/app`);
    await repo.resolve("latest"); // warms the token
    // A second local server for blobs: the registry redirects there.
    const blobRegistry = await startLocalServer((req, res) => {
      if (req.url === "/v2/") res.writeHead(401, { "WWW-Authenticate": `Bearer realm="http://${registry.host}/token",service="s"` }).end();
      else if (req.headers.authorization?.startsWith("Bearer ")) res.writeHead(307, { Location: `${storage.url}/signed?sig=secret` }).end();
      else res.writeHead(401, { "WWW-Authenticate": `Bearer realm="http://${registry.host}/token",service="s"` }).end();
    });
    servers.push(blobRegistry);
    const blobRepo = client.repository(`${blobRegistry.host}/app`);
    const digest = digestFromBytes("0123456789");
    const bytes = await collect(blobRepo.fetchBlob({ digest, size: 10 }, { offset: 4 }));
    expect(bytes.toString()).toBe("456789");
    const hop = storage.requests[0];
    expect(hop?.headers.authorization).toBeUndefined();
    expect(hop?.headers.range).toBe("bytes=4-");
    expect(blobRegistry.requests.at(-1)?.headers.authorization).toMatch(/^Bearer /);
    client.close();
  });
});
