import { request } from "node:https";
import { copyFile, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  type RegistryPeer,
  opensslSkipReason,
  pushArchiveToRegistry,
  registrySkipReason,
  skopeoSkipReason,
  startRegistry,
  writeDockerArchive,
} from "../src/index";

function get(url: string, ca: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
}

describe.skipIf(registrySkipReason() ?? skopeoSkipReason() ?? opensslSkipReason())("startRegistry with TLS from a test CA", () => {
  let registry: RegistryPeer;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "registry-tls-test-"));
    registry = await startRegistry({ tls: true });
  });
  afterAll(async () => {
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("serves https for 127.0.0.1 and localhost, trusted through the CA only", async () => {
    expect(registry.url).toBe(`https://127.0.0.1:${registry.port}`);
    const ca = await readFile(registry.caPath!, "utf8");
    expect(await get(`${registry.url}/v2/`, ca)).toBe(200);
    expect(await get(`https://localhost:${registry.port}/v2/`, ca)).toBe(200);
    await expect(get(`${registry.url}/v2/`, undefined)).rejects.toThrow(/self.signed|unable to (get|verify)/i);
  });

  test("skopeo pushes when certs.d/<host>/ca.crt holds the CA", async () => {
    const certDir = join(dir, "certs.d", registry.host);
    await mkdir(certDir, { recursive: true });
    await copyFile(registry.caPath!, join(certDir, "ca.crt"));
    const archive = join(dir, "img.tar");
    await writeDockerArchive(archive, "img:1", [{ f: "tls\n" }]);
    await pushArchiveToRegistry(archive, `${registry.host}/img:1`, { certDir });
    const ca = await readFile(registry.caPath!, "utf8");
    expect(await get(`${registry.url}/v2/img/manifests/1`, ca)).toBe(200);
  });
});
