import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request as httpsRequest } from "node:https";
import { createTestCa, opensslSkipReason } from "@store/test-peers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestDaemon, dockerClis, runCli, startTestDaemon } from "./helpers";

describe.skipIf(process.getuid?.() !== 0 || opensslSkipReason())("tcp:// with mutual TLS (--tlsverify)", () => {
  let d: TestDaemon;
  let certDir: string;
  let dir: string;
  let host: string;
  let ca: { caPem: string; client: { certPem: string; keyPem: string } };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "stored-tls-"));
    const testCa = await createTestCa(dir);
    const server = await testCa.issue("server", { sans: ["IP:127.0.0.1", "DNS:localhost"] });
    const client = await testCa.issue("client");
    // What the docker CLI reads from DOCKER_CERT_PATH.
    certDir = join(dir, "client");
    await mkdir(certDir);
    await copyFile(testCa.caPath, join(certDir, "ca.pem"));
    await copyFile(client.certPath, join(certDir, "cert.pem"));
    await copyFile(client.keyPath, join(certDir, "key.pem"));
    ca = { caPem: testCa.caPem, client };
    d = await startTestDaemon({
      hosts: ["tcp://127.0.0.1:0"],
      tls: { ca: testCa.caPath, cert: server.certPath, key: server.keyPath },
    });
    host = d.daemon.sockets[0]!;
  });
  afterAll(async () => {
    await d?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const bin of dockerClis) {
    it(`${bin} works with its client certificate`, async () => {
      const env = {
        PATH: process.env.PATH,
        HOME: d.dir,
        DOCKER_CONFIG: join(d.dir, "cli"),
        DOCKER_HOST: host,
        DOCKER_TLS_VERIFY: "1",
        DOCKER_CERT_PATH: certDir,
      };
      const r = await runCli(bin, ["images"], env);
      expect([r.code, r.stderr]).toEqual([0, ""]);
      expect(r.stdout).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID/);
    });
  }

  it("refuses a client without a certificate", async () => {
    const { port } = new URL(host.replace("tcp://", "https://"));
    const outcome = await new Promise<string>((resolve) => {
      const req = httpsRequest({ host: "127.0.0.1", port, path: "/_ping", ca: ca.caPem }, (res) => resolve(`status ${res.statusCode}`));
      req.on("error", (e) => resolve(`error ${e.message}`));
      req.end();
    });
    expect(outcome).toMatch(/^error /);
    const withCert = await new Promise<string>((resolve) => {
      const req = httpsRequest({ host: "127.0.0.1", port, path: "/_ping", ca: ca.caPem, cert: ca.client.certPem, key: ca.client.keyPem }, (res) =>
        resolve(`status ${res.statusCode}`),
      );
      req.on("error", (e) => resolve(`error ${e.message}`));
      req.end();
    });
    expect(withCert).toBe("status 200");
  });
});
