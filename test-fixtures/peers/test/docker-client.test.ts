import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  type DockerdPeer,
  type FaultProxyPeer,
  type RegistryPeer,
  type TokenServerPeer,
  dockerdSkipReason,
  opensslSkipReason,
  pushArchiveToRegistry,
  registrySkipReason,
  skopeoSkipReason,
  startDockerd,
  startFaultProxy,
  startRegistry,
  startTokenServer,
  writeDockerArchive,
} from "../src/index";

// The peers against docker's own client: what the puller's tests will compare with.
describe.skipIf(dockerdSkipReason() ?? registrySkipReason() ?? skopeoSkipReason() ?? opensslSkipReason())("dockerd pulls from the test peers", () => {
  let dockerd: DockerdPeer;
  let tokens: TokenServerPeer;
  let registry: RegistryPeer;
  let proxy: FaultProxyPeer;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "docker-client-test-"));
    [dockerd, tokens] = await Promise.all([startDockerd(), startTokenServer({ users: { alice: "wonderland" } })]);
    registry = await startRegistry({ token: tokens });
    proxy = await startFaultProxy({ target: registry.url });
    const archive = join(dir, "img.tar");
    await writeDockerArchive(archive, "img:1", [{ "etc/motd": "token auth\n" }]);
    await pushArchiveToRegistry(archive, `${registry.host}/team/img:1`, { creds: "alice:wonderland" });
  });
  afterAll(async () => {
    await dockerd?.stop();
    await proxy?.stop();
    await registry?.stop();
    await tokens?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("docker login and pull through the token server; it saw docker's account and scope", async () => {
    tokens.requests.length = 0;
    await dockerd.docker(["login", "-u", "alice", "--password-stdin", registry.host], "wonderland\n");
    await dockerd.docker(["pull", `${registry.host}/team/img:1`]);
    expect(tokens.requests.some((r) => r.account === "alice" && r.scopes.includes("repository:team/img:pull") && r.granted.length === 1)).toBe(true);
    const wrong = await dockerd.docker(["login", "-u", "alice", "--password-stdin", registry.host], "nope\n", { allowFailure: true });
    expect(wrong.code).not.toBe(0);
  });

  test("docker gets the proxy's 503 as an error, and pulls once the rule is gone", async () => {
    await dockerd.docker(["login", "-u", "alice", "--password-stdin", proxy.host], "wonderland\n");
    proxy.setFaults([{ path: "/manifests/", fault: { kind: "status", status: 503 } }]);
    const failed = await dockerd.docker(["pull", `${proxy.host}/team/img:1`], undefined, { allowFailure: true });
    expect(failed.code).not.toBe(0);
    expect(proxy.count("/manifests/")).toBeGreaterThan(0);
    proxy.setFaults([]);
    await dockerd.docker(["pull", `${proxy.host}/team/img:1`]);
  });
});
