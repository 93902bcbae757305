import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type RegistryPeer, htpasswdLine, pushArchiveToRegistry, registrySkipReason, skopeoSkipReason, startRegistry, writeDockerArchive } from "../src/index";

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

describe.skipIf(registrySkipReason() ?? skopeoSkipReason())("startRegistry with htpasswd Basic auth", () => {
  let registry: RegistryPeer;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "registry-htpasswd-test-"));
    registry = await startRegistry({ htpasswd: { users: { alice: "wonderland" }, realm: "test-realm" } });
  });
  afterAll(async () => {
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("challenges with Basic, accepts the user, refuses a wrong password", async () => {
    const anonymous = await fetch(`${registry.url}/v2/`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toBe('Basic realm="test-realm"');
    expect((await fetch(`${registry.url}/v2/`, { headers: { Authorization: basic("alice", "wonderland") } })).status).toBe(200);
    expect((await fetch(`${registry.url}/v2/`, { headers: { Authorization: basic("alice", "wrong") } })).status).toBe(401);
    expect(registry.users).toEqual({ alice: "wonderland" });
  });

  test("skopeo pushes with the credentials, and fails without them", async () => {
    const archive = join(dir, "img.tar");
    await writeDockerArchive(archive, "img:1", [{ f: "x\n" }]);
    await pushArchiveToRegistry(archive, `${registry.host}/img:1`, { creds: "alice:wonderland" });
    const tags = await fetch(`${registry.url}/v2/img/tags/list`, { headers: { Authorization: basic("alice", "wonderland") } });
    expect(await tags.json()).toEqual({ name: "img", tags: ["1"] });
    await expect(pushArchiveToRegistry(archive, `${registry.host}/img:2`)).rejects.toThrow(/unauthorized|authentication required/i);
  });

  test("htpasswdLine makes bcrypt lines and refuses what an htpasswd file cannot hold", () => {
    expect(htpasswdLine("bob", "pw")).toMatch(/^bob:\$2[aby]\$05\$[./A-Za-z0-9]{53}$/);
    expect(() => htpasswdLine("a:b", "pw")).toThrow('htpasswdLine: user "a:b" or its password cannot go in an htpasswd file');
  });
});
