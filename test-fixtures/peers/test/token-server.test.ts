import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  type RegistryPeer,
  type TokenServerPeer,
  opensslSkipReason,
  pushArchiveToRegistry,
  registrySkipReason,
  skopeoCopy,
  skopeoSkipReason,
  startRegistry,
  startTokenServer,
  writeDockerArchive,
} from "../src/index";

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

describe.skipIf(registrySkipReason() ?? skopeoSkipReason() ?? opensslSkipReason())("startRegistry with token auth and startTokenServer", () => {
  let tokens: TokenServerPeer;
  let registry: RegistryPeer;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "token-test-"));
    tokens = await startTokenServer({ users: { alice: "wonderland" }, anonymousPull: true });
    registry = await startRegistry({ token: tokens });
  });
  afterAll(async () => {
    await registry?.stop();
    await tokens?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("the registry challenges with Bearer and accepts the server's JWT for the granted scope only", async () => {
    const challenge = await fetch(`${registry.url}/v2/some/repo/tags/list`);
    expect(challenge.status).toBe(401);
    expect(challenge.headers.get("www-authenticate")).toBe(`Bearer realm="${tokens.realm}",service="${tokens.service}",scope="repository:some/repo:pull"`);
    tokens.requests.length = 0;
    const answer = await fetch(`${tokens.realm}?service=${tokens.service}&scope=repository:some/repo:pull,push`, {
      headers: { Authorization: basic("alice", "wonderland") },
    });
    const body = (await answer.json()) as { token: string; access_token: string; expires_in: number };
    expect(body.token).toBe(body.access_token);
    expect(tokens.requests).toMatchObject([
      {
        method: "GET",
        grant: "basic",
        account: "alice",
        scopes: ["repository:some/repo:pull,push"],
        granted: [{ type: "repository", name: "some/repo", actions: ["pull", "push"] }],
      },
    ]);
    // Authorized for some/repo (404: no such repository yet), not for another repository.
    expect((await fetch(`${registry.url}/v2/some/repo/tags/list`, { headers: { Authorization: `Bearer ${body.token}` } })).status).toBe(404);
    expect((await fetch(`${registry.url}/v2/other/tags/list`, { headers: { Authorization: `Bearer ${body.token}` } })).status).toBe(401);
    const expired = tokens.issue("alice", [{ type: "repository", name: "some/repo", actions: ["pull"] }], { expiresIn: -120 });
    expect((await fetch(`${registry.url}/v2/some/repo/tags/list`, { headers: { Authorization: `Bearer ${expired}` } })).status).toBe(401);
  });

  test("skopeo pushes with credentials and pulls anonymously; the server saw the scopes", async () => {
    const archive = join(dir, "img.tar");
    await writeDockerArchive(archive, "img:1", [{ f: "token\n" }]);
    tokens.requests.length = 0;
    await pushArchiveToRegistry(archive, `${registry.host}/team/img:1`, { creds: "alice:wonderland" });
    expect(tokens.requests.some((r) => r.account === "alice" && r.scopes.includes("repository:team/img:pull,push"))).toBe(true);

    tokens.requests.length = 0;
    await skopeoCopy(`docker://${registry.host}/team/img:1`, `dir:${join(dir, "pulled")}`);
    expect(tokens.requests.length).toBeGreaterThan(0);
    expect(tokens.requests.every((r) => r.grant === "anonymous" && r.granted.every((g) => g.actions.join() === "pull"))).toBe(true);
  });

  test("the OAuth2 POST form: password grant gives a refresh token, which gets a new token", async () => {
    const form = (fields: Record<string, string>) => fetch(tokens.realm, { method: "POST", body: new URLSearchParams(fields) });
    const first = (await (
      await form({
        grant_type: "password",
        username: "alice",
        password: "wonderland",
        service: tokens.service,
        client_id: "test",
        scope: "repository:a:pull repository:b:push",
      })
    ).json()) as { refresh_token: string };
    expect(tokens.requests.at(-1)).toMatchObject({ method: "POST", grant: "password", scopes: ["repository:a:pull", "repository:b:push"] });
    const second = await form({
      grant_type: "refresh_token",
      refresh_token: first.refresh_token,
      service: tokens.service,
      client_id: "test",
      scope: "repository:a:pull",
    });
    expect(second.status).toBe(200);
    expect(tokens.requests.at(-1)).toMatchObject({ grant: "refresh_token", account: "alice" });
  });

  test("bad input: a wrong password gets 401 and a clear body, and grants nothing", async () => {
    const r = await fetch(`${tokens.realm}?service=${tokens.service}&scope=repository:a:pull`, { headers: { Authorization: basic("alice", "nope") } });
    expect(r.status).toBe(401);
    expect(await r.json()).toEqual({ details: "incorrect username or password" });
    expect(tokens.requests.at(-1)).toMatchObject({ status: 401, account: undefined, granted: [] });
    const unknown = await fetch(`${tokens.realm}?service=elsewhere&scope=repository:a:pull`);
    expect(unknown.status).toBe(400);
  });
});
