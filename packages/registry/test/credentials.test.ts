import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir } from "@store/test-support";
import { DockerConfigCredentials, RegistryClient, RegistryErrorCode, authConfigKey, eraseCredentials, loadDockerConfig, storeCredentials } from "../src/index";
import { type LocalServer, errorBody, startLocalServer } from "./local-server";

let dir: { path: string; remove: () => Promise<void> };
const savedPath = process.env.PATH;
beforeEach(async () => {
  dir = await tempDir("registry-creds-");
});
afterEach(async () => {
  process.env.PATH = savedPath;
  await dir.remove();
});

const b64 = (s: string) => Buffer.from(s).toString("base64");

/** A `docker-credential-fake` on PATH that keeps secrets as files in `<dir>/store`, speaking the helpers' protocol. */
async function fakeHelper(): Promise<string> {
  const bin = join(dir.path, "bin");
  const store = join(dir.path, "store");
  await mkdir(bin, { recursive: true });
  await mkdir(store, { recursive: true });
  const script = `#!/bin/sh
input=$(cat)
case "$1" in
  get)
    key=$(printf %s "$input" | base64 -w0 | tr '/+' '_-')
    if [ -f "${store}/$key" ]; then cat "${store}/$key"; else echo "credentials not found in native keychain"; exit 1; fi ;;
  store)
    url=$(printf %s "$input" | sed -n 's/.*"ServerURL":"\\([^"]*\\)".*/\\1/p')
    key=$(printf %s "$url" | base64 -w0 | tr '/+' '_-')
    printf %s "$input" > "${store}/$key" ;;
  erase)
    key=$(printf %s "$input" | base64 -w0 | tr '/+' '_-')
    rm -f "${store}/$key" ;;
esac
`;
  await writeFile(join(bin, "docker-credential-fake"), script);
  await chmod(join(bin, "docker-credential-fake"), 0o755);
  process.env.PATH = `${bin}:${savedPath}`;
  return store;
}

describe("docker's config.json", () => {
  it("maps Docker Hub to https://index.docker.io/v1/ and others to host[:port]", () => {
    expect(authConfigKey("docker.io")).toBe("https://index.docker.io/v1/");
    expect(authConfigKey("registry-1.docker.io")).toBe("https://index.docker.io/v1/");
    expect(authConfigKey("https://index.docker.io/v1/")).toBe("https://index.docker.io/v1/");
    expect(authConfigKey("127.0.0.1:5000")).toBe("127.0.0.1:5000");
    expect(authConfigKey("https://Ghcr.io/v2/")).toBe("ghcr.io");
  });

  it("reads auths (auth, identitytoken, registrytoken), keys written as URLs, and DOCKER_AUTH_CONFIG first", async () => {
    await writeFile(
      join(dir.path, "config.json"),
      JSON.stringify({
        auths: {
          "https://index.docker.io/v1/": { auth: b64("hub:pw") },
          "http://127.0.0.1:5000/v2/": { auth: b64("me:p:with:colons") },
          "id.example": { auth: b64("u:"), identitytoken: "refresh" },
          "tok.example": { registrytoken: "bearer-as-is" },
        },
      }),
    );
    const creds = new DockerConfigCredentials({ configDir: dir.path, env: {} });
    expect(await creds.get(authConfigKey("docker.io"))).toMatchObject({ username: "hub", password: "pw" });
    expect(await creds.get("127.0.0.1:5000")).toMatchObject({ username: "me", password: "p:with:colons" });
    expect(await creds.get("id.example")).toMatchObject({ username: "u", identityToken: "refresh" });
    expect(await creds.get("tok.example")).toMatchObject({ registryToken: "bearer-as-is" });
    expect(await creds.get("other.example")).toBeUndefined();
    const env = { DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { "127.0.0.1:5000": { auth: b64("env:secret") } } }) };
    expect(await new DockerConfigCredentials({ configDir: dir.path, env }).get("127.0.0.1:5000")).toMatchObject({ username: "env", password: "secret" });
  });

  it("a missing file is no credentials; a broken one is one clear line, and is not overwritten", async () => {
    expect(await new DockerConfigCredentials({ configDir: join(dir.path, "none"), env: {} }).get("x.example")).toBeUndefined();
    const path = join(dir.path, "config.json");
    await writeFile(path, "{ not json");
    const error = await new DockerConfigCredentials({ configDir: dir.path, env: {} }).get("x.example").catch((e: unknown) => e);
    expect(error).toMatchObject({ code: RegistryErrorCode.CredentialsInvalid, kind: "invalid" });
    expect((error as Error).message).toMatch(new RegExp(`^${path}: not valid JSON`));
    await expect(storeCredentials("x.example", { username: "a", password: "b" }, { configDir: dir.path })).rejects.toMatchObject({
      code: RegistryErrorCode.CredentialsInvalid,
    });
    expect(await readFile(path, "utf8")).toBe("{ not json");
    await writeFile(path, JSON.stringify({ auths: { "x.example": { auth: b64("no-colon") } } }));
    await expect(new DockerConfigCredentials({ configDir: dir.path, env: {} }).get("x.example")).rejects.toMatchObject({
      code: RegistryErrorCode.CredentialsInvalid,
    });
  });

  it("stores as docker login does (0600, auths[key].auth, other keys kept) and erases as docker logout", async () => {
    const path = join(dir.path, "config.json");
    await writeFile(path, JSON.stringify({ psFormat: "table", auths: { "keep.example": { auth: b64("k:k") } } }));
    await storeCredentials("docker.io", { username: "hub", password: "pw" }, { configDir: dir.path });
    await storeCredentials("127.0.0.1:5000", { username: "me", password: "pw", identityToken: "rt" }, { configDir: dir.path });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const { config } = await loadDockerConfig({ configDir: dir.path });
    expect(config.psFormat).toBe("table");
    expect(config.auths?.["https://index.docker.io/v1/"]).toEqual({ auth: b64("hub:pw") });
    expect(config.auths?.["127.0.0.1:5000"]).toEqual({ auth: b64("me:"), identitytoken: "rt" });
    expect(config.auths?.["keep.example"]).toBeDefined();
    expect(await eraseCredentials("docker.io", { configDir: dir.path })).toBe(true);
    expect(await eraseCredentials("docker.io", { configDir: dir.path })).toBe(false);
    expect((await loadDockerConfig({ configDir: dir.path })).config.auths?.["https://index.docker.io/v1/"]).toBeUndefined();
  });

  it("goes through docker-credential-<name> for credsStore and credHelpers", async () => {
    const store = await fakeHelper();
    await writeFile(join(dir.path, "config.json"), JSON.stringify({ credsStore: "fake", credHelpers: { "other.example": "absent" } }));
    const creds = new DockerConfigCredentials({ configDir: dir.path, env: { PATH: process.env.PATH } });
    expect(await creds.get("127.0.0.1:5000")).toBeUndefined();
    await storeCredentials("127.0.0.1:5000", { username: "me", password: "pw" }, { configDir: dir.path });
    expect((await loadDockerConfig({ configDir: dir.path })).config.auths?.["127.0.0.1:5000"]).toEqual({});
    expect(await creds.get("127.0.0.1:5000")).toMatchObject({ username: "me", password: "pw" });
    await storeCredentials("tok.example", { username: "me", password: "", identityToken: "rt" }, { configDir: dir.path });
    expect(await creds.get("tok.example")).toMatchObject({ identityToken: "rt" });
    await eraseCredentials("127.0.0.1:5000", { configDir: dir.path });
    expect(await creds.get("127.0.0.1:5000")).toBeUndefined();
    expect(store).toBeTruthy();
    // A helper that is not installed: one line saying so.
    const missing = await creds.get("other.example").catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: RegistryErrorCode.CredentialsUnavailable });
    expect((missing as Error).message).toMatch(/^error getting credentials - err: .*docker-credential-absent/);
    // A helper name that would leave PATH is refused.
    await writeFile(join(dir.path, "config.json"), JSON.stringify({ credsStore: "../../bin/sh" }));
    await expect(creds.get("x.example")).rejects.toMatchObject({ code: RegistryErrorCode.CredentialsInvalid });
  });
});

describe("login", () => {
  let server: LocalServer;
  afterEach(async () => server?.close());

  it("does the token dance with offline_token and returns the refresh token as identityToken", async () => {
    server = await startLocalServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      if (url.pathname === "/token") {
        if (req.headers.authorization !== `Basic ${b64("alice:secret")}`) {
          return void res.writeHead(401, { "Content-Type": "application/json" }).end(JSON.stringify({ details: "incorrect username or password" }));
        }
        const body = url.searchParams.get("offline_token") === "true" ? { token: "t", refresh_token: "rt" } : { token: "t" };
        return void res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(body));
      }
      if (req.headers.authorization === "Bearer t") return void res.writeHead(200).end("{}");
      res.writeHead(401, { "WWW-Authenticate": `Bearer realm="${server.url}/token",service="svc"` }).end(errorBody("UNAUTHORIZED", "authentication required"));
    });
    const client = new RegistryClient({ credentials: { get: async () => undefined } });
    expect(await client.login(server.host, { username: "alice", password: "secret" })).toEqual({ status: "Login Succeeded", identityToken: "rt" });
    const error = await client.login(`http://${server.host}/`, { username: "alice", password: "nope" }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: RegistryErrorCode.Unauthorized });
    expect((error as Error).message).toMatch(/unauthorized: incorrect username or password$/);
    await expect(client.login("bad host/\n", { username: "a", password: "b" })).rejects.toMatchObject({ code: RegistryErrorCode.Invalid });
    client.close();
  });

  it("sends Basic to a Basic registry and accepts one without auth", async () => {
    let open = false;
    server = await startLocalServer((req, res) => {
      if (open || req.headers.authorization === `Basic ${b64("u:p")}`) return void res.writeHead(200).end("{}");
      res.writeHead(401, { "WWW-Authenticate": 'Basic realm="r"' }).end(errorBody("UNAUTHORIZED", "authentication required"));
    });
    const client = new RegistryClient({ credentials: { get: async () => undefined } });
    expect(await client.login(server.host, { username: "u", password: "p" })).toEqual({ status: "Login Succeeded" });
    await expect(client.login(server.host, { username: "u", password: "x" })).rejects.toMatchObject({ code: RegistryErrorCode.Unauthorized });
    open = true;
    expect(await client.login(server.host, { username: "u", password: "x" })).toEqual({ status: "Login Succeeded" });
    client.close();
  });
});
