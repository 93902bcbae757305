import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, readdir, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type FaultProxyPeer, type RegistryPeer, hasRoot, registrySkipReason, startFaultProxy, startRegistry, startTokenServer } from "@store/test-peers";
import { type TestImage, buildTestImage, uploadTestImage } from "@store/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { store, tempDir } from "./helpers";

const launcher = join(resolve(__dirname, ".."), "bin/store.js");
const skip = !hasRoot() || registrySkipReason() !== undefined;

/** The built binary as a child process (killable), its exit code and output. */
function spawnStore(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [launcher, ...args], { env: { PATH: process.env.PATH ?? "", HOME: "/nonexistent", ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
  child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((r) =>
    child.on("close", (code, signal) => r({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

describe.skipIf(skip)("store pull when the network misbehaves", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let registry: RegistryPeer;
  let proxy: FaultProxyPeer;
  let big: TestImage;
  let small: TestImage;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    registry = await startRegistry();
    proxy = await startFaultProxy({ target: registry.url });
    // Incompressible: the blob is as large as the file, so byte counts mean something.
    big = await buildTestImage([{ "base/": "", "base/x": "base\n" }, { "data.bin": randomBytes(24 << 20).toString("latin1") }]);
    small = await buildTestImage([
      { "a/": "", "a/b": "small\n" },
      { "c/": "", "c/d": randomBytes(300_000).toString("latin1") },
    ]);
    await uploadTestImage(registry.host, "team/big", "1", big);
    await uploadTestImage(registry.host, "team/small", "1", small);
  }, 120_000);
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
    await cleanup?.();
  });

  it("finishes correctly through resets mid-blob, truncated bodies, 429 with Retry-After, 500/503 and a stall", async () => {
    const blob = small.layers[1]!.digest;
    proxy.setFaults([
      { path: `/blobs/${blob}`, fault: { kind: "reset", afterBytes: 50_000 }, times: 1 },
      { path: `/blobs/${blob}`, fault: { kind: "truncate", afterBytes: 120_000 }, times: 1 },
      { path: "/manifests/", method: "HEAD", fault: { kind: "status", status: 429, retryAfter: 1 }, times: 1 },
      { path: "/manifests/", method: "GET", fault: { kind: "status", status: 503 }, times: 1 },
      { path: `/blobs/${small.config.digest}`, fault: { kind: "status", status: 500 }, times: 1 },
      { path: `/blobs/${small.layers[0]!.digest}`, fault: { kind: "stall", ms: 45_000 }, times: 1 },
    ]);
    const root = join(dir, "faults");
    const r = await store(["--root", root, "pull", `${proxy.host}/team/small:1`], { env: { STORE_REGISTRY_STALL_TIMEOUT_MS: "1000" } });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const ours = JSON.parse((await store(["--root", root, "inspect", `${proxy.host}/team/small:1`])).stdout)[0];
    expect(ours.Id).toBe(small.config.digest);
    expect(proxy.faults.filter((f) => (f.hits ?? 0) === 0)).toEqual([]);
    proxy.setFaults([]);
  }, 120_000);

  it("fails in one line, with nothing partial visible, when a blob's bytes are corrupt", async () => {
    proxy.setFaults([{ path: `/blobs/${small.layers[1]!.digest}`, fault: { kind: "corrupt", atByte: 1000 } }]);
    const root = join(dir, "corrupt");
    const r = await store(["--root", root, "pull", `${proxy.host}/team/small:1`]);
    proxy.setFaults([]);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    // gzip's own checks or the digest, whichever trips first: either way the blob is named.
    expect(r.stderr).toMatch(new RegExp(`^store: filesystem layer verification failed for digest ${small.layers[1]!.digest}: `));
    const images = await store(["--root", root, "images", "-q"]);
    expect(images.stdout).toBe("");
    // Nothing committed: no layer in layerdb.
    expect(await readdir(join(root, "image/overlay2/layerdb/sha256")).catch(() => [])).toEqual([]);
  }, 60_000);

  it("resumes a pull killed half-way (SIGKILL), fetching little more than the rest", async () => {
    const layer = big.layers[1]!;
    const root = join(dir, "resume");
    // Slow the big blob after a third so the kill lands mid-download.
    proxy.setFaults([{ path: `/blobs/${layer.digest}`, fault: { kind: "stall", ms: 60_000, afterBytes: Math.floor(layer.size / 2) }, times: 1 }]);
    proxy.requests.length = 0;
    const first = spawnStore(["--root", root, "pull", `${proxy.host}/team/big:1`]);
    const started = Date.now();
    while (proxy.bytesSent(`/blobs/${layer.digest}`) < Math.floor(layer.size / 2) && Date.now() - started < 30_000) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 300)); // the bytes reach the partial file
    first.child.kill("SIGKILL");
    await first.done;
    proxy.setFaults([]);
    proxy.requests.length = 0;
    const second = spawnStore(["--root", root, "pull", `${proxy.host}/team/big:1`]);
    const result = await second.done;
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const again = proxy.bytesSent(`/blobs/${layer.digest}`);
    console.log(`resume: ${again} of ${layer.size} bytes fetched again (${((100 * again) / layer.size).toFixed(1)} %)`);
    expect(again).toBeLessThanOrEqual(0.55 * layer.size);
    const ours = JSON.parse((await store(["--root", root, "inspect", `${proxy.host}/team/big:1`])).stdout)[0];
    expect(ours.Id).toBe(big.config.digest);
    expect(await readdir(join(root, "image/overlay2/partial-downloads"))).toEqual([]);
  }, 120_000);

  it("Ctrl-C (SIGINT) or SIGTERM mid-download: exit 130/143, no image or layer, the partial download kept", async () => {
    const layer = big.layers[1]!;
    for (const [signal, code] of [
      ["SIGINT", 130],
      ["SIGTERM", 143],
    ] as const) {
      const root = join(dir, `signal-${signal}`);
      proxy.setFaults([{ path: `/blobs/${layer.digest}`, fault: { kind: "stall", ms: 60_000, afterBytes: Math.floor(layer.size / 3) }, times: 1 }]);
      proxy.requests.length = 0;
      const run = spawnStore(["--root", root, "pull", `${proxy.host}/team/big:1`]);
      const started = Date.now();
      while (proxy.bytesSent(`/blobs/${layer.digest}`) < Math.floor(layer.size / 3) && Date.now() - started < 30_000) {
        await new Promise((r) => setTimeout(r, 50));
      }
      run.child.kill(signal);
      const result = await run.done;
      proxy.setFaults([]);
      expect(result.code, result.stderr).toBe(code);
      expect((await store(["--root", root, "images", "-q"])).stdout).toBe("");
      expect(await readdir(join(root, "image/overlay2/layerdb/sha256")).catch(() => [])).toEqual([]);
      // The stalled layer's part is kept; on a busy machine the small layer may still have been
      // on its way too, and is kept as well.
      const partial = await readdir(join(root, "image/overlay2/partial-downloads"));
      const stalled = `sha256-${layer.digest.slice(7)}`;
      expect(partial).toContain(stalled);
      expect((await stat(join(root, "image/overlay2/partial-downloads", stalled))).size).toBeGreaterThan(0);
    }
  }, 120_000);

  it("two pulls of one image at once both succeed, each blob fetched once", async () => {
    const root = join(dir, "twice");
    proxy.requests.length = 0;
    const [a, b] = await Promise.all([
      spawnStore(["--root", root, "pull", `${proxy.host}/team/big:1`]).done,
      spawnStore(["--root", root, "pull", `${proxy.host}/team/big:1`]).done,
    ]);
    expect([a.code, b.code, a.stderr.replace(/^store: waiting.*\n/m, ""), b.stderr.replace(/^store: waiting.*\n/m, "")]).toEqual([0, 0, "", ""]);
    for (const blob of [big.config, ...big.layers]) expect(proxy.count(`/blobs/${blob.digest}`, "GET"), blob.digest).toBe(1);
  }, 120_000);
});

describe.skipIf(skip)("store login, pull and push with authenticated registries", () => {
  let dir: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterAll(async () => {
    await cleanup?.();
  });

  it("logs in with Basic (htpasswd), keeps the credentials as docker does, pulls and pushes, logs out", async () => {
    const registry = await startRegistry({ htpasswd: { users: { alice: "s3cret" } } });
    try {
      const home = join(dir, "home-basic");
      const env = { HOME: home };
      const root = join(dir, "basic");
      const anonymous = await store(["--root", root, "pull", `${registry.host}/team/auth:1`], { env });
      expect(anonymous.code).toBe(1);
      expect(anonymous.stderr).toMatch(/unauthorized|authentication required/i);
      const wrong = await store(["login", "-u", "alice", "--password-stdin", registry.host], { env, stdin: "nope\n" });
      expect(wrong.code).toBe(1);
      const login = await store(["login", "-u", "alice", "--password-stdin", registry.host], { env, stdin: "s3cret\n" });
      expect(login.stdout).toBe("Login Succeeded\n");
      expect(login.code).toBe(0);
      const config = JSON.parse(await readFile(join(home, ".docker/config.json"), "utf8"));
      expect(config.auths[registry.host].auth).toBe(Buffer.from("alice:s3cret").toString("base64"));
      expect((await stat(join(home, ".docker/config.json"))).mode & 0o777).toBe(0o600);
      const tarball = await import("@store/test-support").then((m) => m.makeTar({ "f.txt": "basic\n" }));
      expect((await store(["--root", root, "import", "-", `${registry.host}/team/auth:1`], { env, stdin: tarball })).code).toBe(0);
      const push = await store(["--root", root, "push", `${registry.host}/team/auth:1`], { env });
      expect(push.stderr).toBe("");
      const other = join(dir, "basic-2");
      const pull = await store(["--root", other, "pull", `${registry.host}/team/auth:1`], { env });
      expect(pull.stderr).toBe("");
      expect(pull.code).toBe(0);
      const logout = await store(["logout", registry.host], { env });
      expect(logout.stdout).toBe(`Removing login credentials for ${registry.host}\n`);
      expect((await store(["logout", registry.host], { env })).stdout).toBe(`Not logged in to ${registry.host}\n`);
    } finally {
      await registry.stop();
    }
  }, 120_000);

  it("gets tokens from a token server: anonymous pull where allowed, credentials from config.json for push", async () => {
    const tokens = await startTokenServer({ users: { bob: "pw" }, anonymousPull: true });
    const registry = await startRegistry({ token: tokens });
    try {
      const home = join(dir, "home-token");
      await mkdir(join(home, ".docker"), { recursive: true });
      await writeFile(join(home, ".docker/config.json"), JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from("bob:pw").toString("base64") } } }));
      const root = join(dir, "token");
      const tarball = await import("@store/test-support").then((m) => m.makeTar({ "f.txt": "token\n" }));
      expect((await store(["--root", root, "import", "-", `${registry.host}/team/tok:1`], { env: { HOME: home }, stdin: tarball })).code).toBe(0);
      const push = await store(["--root", root, "push", `${registry.host}/team/tok:1`], { env: { HOME: home } });
      expect(push.stderr).toBe("");
      expect(push.code).toBe(0);
      expect(tokens.requests.some((r) => r.account === "bob" && r.scopes.some((s) => s.endsWith(":pull,push") || s.endsWith(":push,pull")))).toBe(true);
      tokens.requests.length = 0;
      const pull = await store(["--root", join(dir, "token-2"), "pull", `${registry.host}/team/tok:1`], { env: { HOME: join(dir, "nobody") } });
      expect(pull.stderr).toBe("");
      expect(pull.code).toBe(0);
      expect(tokens.requests.every((r) => r.grant === "anonymous")).toBe(true);
    } finally {
      await registry.stop();
      await tokens.stop();
    }
  }, 120_000);

  it("trusts a registry's TLS certificate through certs.d, and refuses it without", async () => {
    const registry = await startRegistry({ tls: true });
    try {
      // Loopback goes to plain HTTP unless certs.d names the host: then HTTPS with that CA.
      const root = join(dir, "tls");
      const home = join(dir, "home-tls");
      await mkdir(join(home, ".docker/certs.d", registry.host), { recursive: true });
      await writeFile(join(home, ".docker/certs.d", registry.host, "ca.crt"), await readFile(registry.caPath!));
      const tarball = await import("@store/test-support").then((m) => m.makeTar({ "f.txt": "tls\n" }));
      expect((await store(["--root", root, "import", "-", `${registry.host}/team/tls:1`], { env: { HOME: home }, stdin: tarball })).code).toBe(0);
      const push = await store(["--root", root, "push", `${registry.host}/team/tls:1`], { env: { HOME: home } });
      expect(push.stderr).toBe("");
      const pull = await store(["--root", join(dir, "tls-2"), "pull", `${registry.host}/team/tls:1`], { env: { HOME: home } });
      expect(pull.stderr).toBe("");
      expect(pull.code).toBe(0);
      const untrusted = await store(["--root", join(dir, "tls-3"), "pull", `${registry.host}/team/tls:1`], { env: { HOME: join(dir, "nobody") } });
      expect(untrusted.code).toBe(1);
      expect(untrusted.stderr.trimEnd().split("\n")).toHaveLength(1);
    } finally {
      await registry.stop();
    }
  }, 120_000);
});
