import { execFileSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { which } from "@store/test-peers";
import { tempDir } from "@store/test-support";
import { RegistryClient, RegistryErrorCode } from "../src/index";
import { loadHostTls } from "../src/tls/certs-dir";
import { manifest } from "./local-server";

describe.skipIf(!which("openssl"))("TLS with certs.d", () => {
  let dir: { path: string; remove: () => Promise<void> };
  let host: string;
  let close: () => Promise<void>;
  let clientCertSeen = false;

  beforeAll(async () => {
    dir = await tempDir("registry-tls-");
    const d = dir.path;
    const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: d, stdio: "pipe" });
    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=test CA");
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1");
    await writeFile(join(d, "ext.cnf"), "subjectAltName=IP:127.0.0.1\n");
    ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt", "-days", "1", "-extfile", "ext.cnf");
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=client");
    ssl("x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "client.cert", "-days", "1");
    const server = createServer(
      {
        key: await readFile(join(d, "server.key")),
        cert: await readFile(join(d, "server.crt")),
        ca: await readFile(join(d, "ca.crt")),
        requestCert: true,
        rejectUnauthorized: false,
      },
      (req, res) => {
        if ((req.socket as import("node:tls").TLSSocket).authorized) clientCertSeen = true;
        if (req.url === "/v2/") res.writeHead(200).end("{}");
        else res.writeHead(200, { "Content-Type": "application/vnd.oci.image.manifest.v1+json" }).end(manifest);
      },
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => new Promise((r) => server.close(() => r()));
  }, 60_000);
  afterAll(async () => {
    await close?.();
    await dir?.remove();
  });

  it("trusts the CA and presents the client certificate from <certsDir>/<host:port>/", async () => {
    const certs = join(dir.path, "certs.d");
    await mkdir(join(certs, host), { recursive: true });
    await writeFile(join(certs, host, "ca.crt"), await readFile(join(dir.path, "ca.crt")));
    await writeFile(join(certs, host, "client.cert"), await readFile(join(dir.path, "client.cert")));
    await writeFile(join(certs, host, "client.key"), await readFile(join(dir.path, "client.key")));
    const client = new RegistryClient({ credentials: { get: async () => undefined }, certsDirs: [certs] });
    const fetched = await client.repository(`${host}/app`).fetchManifest("latest");
    expect(Buffer.from(fetched.bytes).equals(manifest)).toBe(true);
    expect(clientCertSeen).toBe(true);
    client.close();
  });

  it("refuses a server whose CA is not trusted and says so rather than report the plain-HTTP fallback's failure", async () => {
    const certs = join(dir.path, "other-certs.d");
    await mkdir(join(certs, host), { recursive: true }); // a dir with no CA: TLS is tried, verified against the system's CAs
    const client = new RegistryClient({ credentials: { get: async () => undefined }, certsDirs: [certs], retry: { attempts: 1 } });
    const error = await client
      .repository(`${host}/app`)
      .fetchManifest("latest")
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: RegistryErrorCode.Unavailable });
    expect((error as Error).message).toMatch(/^GET https:\/\/127\.0\.0\.1:\d+\/v2\/: .*(certificate|self.signed)/);
    client.close();
  });

  it("a client certificate without its key is one clear error", async () => {
    const certs = join(dir.path, "half.d");
    await mkdir(join(certs, "reg.example"), { recursive: true });
    await writeFile(join(certs, "reg.example", "client.cert"), "x");
    await expect(loadHostTls("reg.example", [certs])).rejects.toMatchObject({
      code: RegistryErrorCode.CertsInvalid,
      message: "missing key client.key for client certificate client.cert. CA certificates must use the extension .crt",
    });
    expect(await loadHostTls("none.example", [certs])).toEqual({});
  });
});
