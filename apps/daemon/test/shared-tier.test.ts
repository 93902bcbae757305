import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  type FaultProxyPeer,
  cephRgwSkipReason,
  dockerdSkipReason,
  registrySkipReason,
  startCephRgw,
  startDockerd,
  startFaultProxy,
  startRegistry,
  startS3rver,
  writeDockerArchive,
} from "@store/test-peers";
import { buildTestImage, uploadTestImage, withTempDir } from "@store/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestDaemon, startTestDaemon } from "./helpers";

const isRoot = process.getuid?.() === 0;

interface S3Peer {
  endpoint: string;
  bucket: string;
  clientConfig: { credentials: { accessKeyId: string; secretAccessKey: string } };
  stop(): Promise<void>;
}

let prefixes = 0;

/** Polls until `check` holds (or throws its last failure after `ms`). Returns the milliseconds it took. */
async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Several daemons on separate roots sharing one bucket (through a proxy that counts the requests
 * each blob gets): what one does, the others see and can use.
 */
function sharedTierSuite(label: string, skip: string | undefined, start: () => Promise<S3Peer>) {
  describe.skipIf(skip || !isRoot)(`stored on a shared tier (${label})`, () => {
    let s3: S3Peer;
    let proxy: FaultProxyPeer;
    const daemons: TestDaemon[] = [];
    beforeAll(async () => {
      s3 = await start();
      proxy = await startFaultProxy({ target: s3.endpoint });
      // The daemons take credentials from the SDK's default chain, as in production.
      process.env.AWS_ACCESS_KEY_ID = s3.clientConfig.credentials.accessKeyId;
      process.env.AWS_SECRET_ACCESS_KEY = s3.clientConfig.credentials.secretAccessKey;
      process.env.AWS_REGION = "us-east-1";
    }, 120_000);
    afterAll(async () => {
      for (const d of daemons) await d.stop().catch(() => undefined);
      await proxy?.stop();
      await s3?.stop();
    });

    /** `n` daemons on one fresh prefix of the bucket. */
    async function hosts(n: number, extra: Record<string, unknown> = {}): Promise<TestDaemon[]> {
      const prefix = `tier-${process.pid}-${++prefixes}`;
      const started: TestDaemon[] = [];
      for (let i = 0; i < n; i++) {
        const d = await startTestDaemon({
          shared: { bucket: s3.bucket, prefix, endpoint: proxy.url, gcIntervalSeconds: 0, gcGraceSeconds: 600 },
          insecureRegistries: ["127.0.0.0/8"],
          ...extra,
        });
        started.push(d);
        daemons.push(d);
      }
      return started;
    }

    /** The shared tier a daemon opened (its service keeps it for close). */
    const tierOf = (d: TestDaemon) => d.daemon.shared!;

    const ids = async (d: TestDaemon) => (await d.request("GET", "/images/json")).json<{ Id: string; RepoTags: string[] }[]>();

    it("a load on one host is listed and inspected on the others within a second; save there copies it down, byte for byte; each blob is uploaded once", async () => {
      const [a, b, c] = await hosts(3);
      await withTempDir(async (dir) => {
        const written = await writeDockerArchive(join(dir, "app.tar"), "app:1", [{ "etc/a": "a\n" }, { "etc/b": "b <&>\n" }]);
        const archive = readFileSync(join(dir, "app.tar"));
        proxy.requests.length = 0;
        const load = await a!.request("POST", "/images/load?quiet=1", { body: archive });
        expect(load.status).toBe(200);
        const id = written.id;
        for (const other of [b!, c!]) {
          const took = await within(1000, async () => (await ids(other)).some((i) => i.Id === id));
          expect(took).toBeLessThan(1000);
          const inspect = (await other.request("GET", "/images/app:1/json")).json<{ Id: string; RepoTags: string[]; RootFS: { Layers: string[] } }>();
          expect([inspect.Id, inspect.RepoTags, inspect.RootFS.Layers]).toEqual([id, ["app:1"], written.diffIds]);
        }
        const saved = async (d: TestDaemon) => (await d.request("GET", "/images/get?names=app:1")).body;
        const fromA = await saved(a!);
        expect(await saved(b!)).toEqual(fromA);
        // c materialises at the same time as another request on c asks for it: one copy.
        const [s1, s2] = await Promise.all([saved(c!), saved(c!)]);
        expect(s1).toEqual(fromA);
        expect(s2).toEqual(fromA);
        // Each blob (2 layers, the config, the manifest) was written once, by a.
        const puts = proxy.requests.filter((r) => r.method === "PUT" && /\/blobs\/content\/sha256\/[0-9a-f]{64}(\?|$)/.test(r.path) && r.status < 300);
        const perKey = new Map<string, number>();
        for (const p of puts) perKey.set(p.path.split("?")[0]!, (perKey.get(p.path.split("?")[0]!) ?? 0) + 1);
        expect([...perKey.values()].every((n) => n === 1)).toBe(true);
        expect(perKey.size).toBe(4);
      });
    }, 120_000);

    it("tag on one host shows on the others; rmi removes the reference tier-wide and the local copy", async () => {
      const [a, b] = await hosts(2);
      await withTempDir(async (dir) => {
        const written = await writeDockerArchive(join(dir, "t.tar"), "tagme:1", [{ x: "x\n" }]);
        expect((await a!.request("POST", "/images/load?quiet=1", { body: readFileSync(join(dir, "t.tar")) })).status).toBe(200);
        await within(1000, async () => (await ids(b!)).some((i) => i.Id === written.id));
        expect((await b!.request("POST", `/images/${written.id}/tag?repo=tagme&tag=2`)).status).toBe(201);
        await within(1000, async () => (await ids(a!)).some((i) => i.RepoTags.includes("tagme:2")));
        const rmi = await a!.request("DELETE", "/images/tagme:1");
        expect(rmi.json()).toEqual([{ Untagged: "tagme:1" }]);
        await within(1000, async () => !(await ids(b!)).some((i) => i.RepoTags.includes("tagme:1")));
        const gone = await b!.request("DELETE", "/images/tagme:2");
        expect(gone.json()).toEqual([{ Untagged: "tagme:2" }, { Deleted: written.id }]);
        await within(1000, async () => !(await ids(a!)).some((i) => i.Id === written.id));
      });
    }, 120_000);

    it("garbage collection frees what no reference holds, keeps what one does, and a host copies what stays", async () => {
      const [a, b] = await hosts(2);
      await withTempDir(async (dir) => {
        const one = await writeDockerArchive(join(dir, "one.tar"), "gc-one:1", [{ "etc/base": "base\n" }, { one: "1\n" }]);
        const two = await writeDockerArchive(join(dir, "two.tar"), "gc-two:1", [{ "etc/base": "base\n" }, { two: "2\n" }]);
        for (const f of ["one.tar", "two.tar"])
          expect((await a!.request("POST", "/images/load?quiet=1", { body: readFileSync(join(dir, f)) })).status).toBe(200);
        await within(1000, async () => (await ids(b!)).some((i) => i.Id === one.id));
        expect((await b!.request("DELETE", "/images/gc-one:1")).json()).toEqual([{ Untagged: "gc-one:1" }, { Deleted: one.id }]);
        await within(1000, async () => !(await ids(a!)).some((i) => i.Id === one.id));
        const tier = tierOf(a!);
        const report = await tier.collectGarbage({ graceMs: 0, clockSkewMs: 0 });
        // gc-one's config, manifest and its own layer go; the base layer gc-two shares stays.
        expect(report.deleted.map(String)).toContain(one.id);
        expect(report.deleted).toHaveLength(3);
        expect(await tier.blobs.has(two.id)).toBe(true);
        const saved = await b!.request("GET", "/images/get?names=gc-two:1");
        expect(saved.status).toBe(200);
        expect(saved.body).toEqual((await a!.request("GET", "/images/get?names=gc-two:1")).body);
      });
    }, 120_000);

    it("S3 failing under the daemons (503s, resets mid-body, a stall): each request succeeds or fails cleanly, and the tier stays whole", async () => {
      const [a, b] = await hosts(2);
      await withTempDir(async (dir) => {
        const written = await writeDockerArchive(join(dir, "f.tar"), "faulty:1", [{ "etc/f": "f\n".repeat(50_000) }, { g: "g\n" }]);
        proxy.setFaults([
          { method: "PUT", fault: { kind: "status", status: 503 }, times: 3 },
          { method: "GET", path: "/blobs/content/", fault: { kind: "reset", afterBytes: 1000 }, times: 2 },
          { method: "GET", path: "/meta/refs/", fault: { kind: "status", status: 500 }, times: 2 },
          { method: "HEAD", fault: { kind: "stall", ms: 1500 }, times: 1 },
        ]);
        try {
          const load = await a!.request("POST", "/images/load?quiet=1", { body: readFileSync(join(dir, "f.tar")) });
          expect(load.status).toBe(200);
          const loaded = !load.text.includes("errorDetail");
          if (!loaded) {
            // A clean failure: one line saying why, and the load can be done again.
            expect(load.lines<{ errorDetail?: { message: string } }>().at(-1)!.errorDetail!.message).toMatch(/\S/);
            expect((await a!.request("POST", "/images/load?quiet=1", { body: readFileSync(join(dir, "f.tar")) })).text).not.toContain("errorDetail");
          }
          await within(3000, async () => (await ids(b!)).some((i) => i.Id === written.id));
          const saved = await b!.request("GET", "/images/get?names=faulty:1");
          if (saved.status !== 200) expect(saved.json<{ message: string }>().message).toMatch(/\S/);
        } finally {
          proxy.setFaults([]);
        }
        const again = await b!.request("GET", "/images/get?names=faulty:1");
        expect(again.status).toBe(200);
        expect(again.body).toEqual((await a!.request("GET", "/images/get?names=faulty:1")).body);
        // Every image the tier lists is whole: each blob there and matching its digest.
        const tier = tierOf(a!);
        for (const record of (await tier.refresh()).images.values()) {
          for (const d of [record.id, record.manifest.digest, ...record.layers.map((l) => l.digest)])
            expect((await tier.blobs.get(d)).byteLength).toBeGreaterThan(0);
        }
      });
    }, 120_000);

    it.skipIf(dockerdSkipReason())(
      "a stock dockerd pulls what the tier holds from --registry-addr, by name",
      async () => {
        const [a] = await hosts(1, { registryAddr: "127.0.0.1:0" });
        const addr = a!.daemon.registry!;
        await withTempDir(async (dir) => {
          const written = await writeDockerArchive(join(dir, "r.tar"), "served:1", [{ "etc/served": "served\n" }]);
          expect((await a!.request("POST", "/images/load?quiet=1", { body: readFileSync(join(dir, "r.tar")) })).status).toBe(200);
          const dockerd = await startDockerd();
          try {
            await dockerd.docker(["pull", `${addr}/served:1`]);
            const inspect = JSON.parse((await dockerd.docker(["image", "inspect", `${addr}/served:1`])).stdout.toString())[0];
            expect(inspect.Id).toBe(written.id);
            expect(inspect.RootFS.Layers).toEqual(written.diffIds);
            const missing = await dockerd.docker(["pull", `${addr}/served:nope`], undefined, { allowFailure: true });
            expect(missing.code).not.toBe(0);
            expect(missing.stderr).toContain("manifest unknown");
          } finally {
            await dockerd.stop();
          }
        });
      },
      180_000,
    );

    it.skipIf(registrySkipReason())(
      "a pull writes through; the next host's pull reads the tier, not the registry",
      async () => {
        const registry = await startRegistry();
        const counting = await startFaultProxy({ target: `http://${registry.host}` });
        try {
          const image = await buildTestImage([{ "bin/tool": "tool\n" }, { "etc/conf": "conf\n" }]);
          await uploadTestImage(registry.host, "team/tool", "1", image);
          const [a, b] = await hosts(2);
          const ref = `${counting.host}/team/tool:1`;
          const first = await a!.request("POST", `/images/create?fromImage=${encodeURIComponent(ref)}`);
          expect(first.lines().at(-1)).toEqual({ status: `Status: Downloaded newer image for ${ref}` });
          const blobGets = counting.count(/\/blobs\/sha256:/, "GET");
          const second = await b!.request("POST", `/images/create?fromImage=${encodeURIComponent(ref)}`);
          expect(second.lines().at(-1)).toEqual({ status: `Status: Downloaded newer image for ${ref}` });
          expect(counting.count(/\/blobs\/sha256:/, "GET")).toBe(blobGets);
          const inspect = (await b!.request("GET", `/images/${encodeURIComponent(ref)}/json`)).json<{ Id: string; RepoDigests: string[] }>();
          expect(inspect.Id).toBe(image.config.digest);
          expect(inspect.RepoDigests).toEqual([`${counting.host}/team/tool@${image.manifest.digest}`]);
          // b has it for real now: save works without the tier.
          expect((await b!.request("GET", `/images/get?names=${encodeURIComponent(ref)}`)).status).toBe(200);
        } finally {
          await counting.stop();
          await registry.stop();
        }
      },
      180_000,
    );
  });
}

sharedTierSuite("s3rver: no conditional writes, ordered records", undefined, () => startS3rver());
sharedTierSuite("Ceph RGW: conditional writes, compare-and-swap", cephRgwSkipReason(), () => startCephRgw());
