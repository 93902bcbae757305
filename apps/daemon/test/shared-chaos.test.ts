import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type SharedTier, openS3SharedTier, openStore } from "@store/service";
import {
  type FaultProxyPeer,
  cephRgwSkipReason,
  registrySkipReason,
  startCephRgw,
  startFaultProxy,
  startRegistry,
  startS3rver,
  writeDockerArchive,
} from "@store/test-peers";
import { buildTestImage, uploadTestImage, withTempDir } from "@store/test-support";
import { describe, expect, it } from "vitest";
import { requestOn } from "./helpers";

const bin = join(import.meta.dirname, "..", "bin", "stored.js");
const isRoot = process.getuid?.() === 0;
const ROUNDS = Number(process.env.STORE_CHAOS_ROUNDS ?? 20);

interface S3Peer {
  endpoint: string;
  bucket: string;
  clientConfig: { credentials: { accessKeyId: string; secretAccessKey: string } };
  stop(): Promise<void>;
}

/** A small seeded generator, so a failing run can be replayed with STORE_CHAOS_SEED. */
function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

interface Host {
  readonly index: number;
  readonly root: string;
  readonly socket: string;
  child: ChildProcess;
  exited: Promise<unknown>;
}

/**
 * Four `stored` processes on separate roots, one bucket, a registry: each round every host does
 * one random thing (load, pull, tag, rmi) while the test collects garbage with no grace period
 * and may kill -9 a host mid-operation. What a command reported done must still be there unless
 * a later command removed it; every blob uploaded once; every image in the tier complete and
 * intact; every root clean after a restart.
 */
function chaosSuite(label: string, skip: string | undefined, start: () => Promise<S3Peer>) {
  describe.skipIf(skip || !isRoot || registrySkipReason())(`four daemons on one bucket, with kill -9 (${label})`, () => {
    it(`${ROUNDS} rounds: no reference lost, each blob uploaded once, GC frees nothing live, every root verifies`, async () => {
      const seed = Number(process.env.STORE_CHAOS_SEED ?? Date.now() % 100_000);
      const rand = random(seed);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
      const s3 = await start();
      let proxy: FaultProxyPeer | undefined;
      const registry = await startRegistry();
      const hosts: Host[] = [];
      let collector: SharedTier | undefined;
      await withTempDir(async (dir) => {
        try {
          proxy = await startFaultProxy({ target: s3.endpoint });
          const prefix = `chaos-${process.pid}-${label.length}`;
          const env = {
            PATH: process.env.PATH,
            HOME: dir,
            AWS_ACCESS_KEY_ID: s3.clientConfig.credentials.accessKeyId,
            AWS_SECRET_ACCESS_KEY: s3.clientConfig.credentials.secretAccessKey,
            AWS_REGION: "us-east-1",
          };
          // Three archives sharing a base layer, and one registry image.
          const archives: { tag: string; id: string; bytes: Buffer }[] = [];
          for (let k = 0; k < 3; k++) {
            const file = join(dir, `app${k}.tar`);
            const written = await writeDockerArchive(file, `app${k}:1`, [{ "etc/base": "base\n" }, { [`app/${k}`]: `app ${k}\n` }]);
            archives.push({ tag: `app${k}:1`, id: written.id, bytes: readFileSync(file) });
          }
          const image = await buildTestImage([{ "etc/base": "base\n" }, { "bin/tool": "tool\n" }]);
          await uploadTestImage(registry.host, "chaos/tool", "1", image);
          const pulled = `${registry.host}/chaos/tool:1`;

          const launch = async (index: number): Promise<Host> => {
            const root = join(dir, `host${index}`);
            const socket = join(dir, `host${index}.sock`);
            const args = [bin, "--data-root", root, "-H", `unix://${socket}`, "--s3-bucket", s3.bucket, "--s3-prefix", prefix];
            args.push("--s3-endpoint", proxy!.url, "--shared-gc-interval", "0", "--insecure-registry", "127.0.0.0/8");
            const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"], env });
            let err = "";
            child.stderr!.setEncoding("utf8").on("data", (s: string) => (err += s));
            const exited = new Promise((r) => child.on("exit", r));
            const deadline = Date.now() + 30_000;
            for (;;) {
              if (child.exitCode !== null) throw new Error(`stored ${index} exited ${child.exitCode}: ${err}`);
              const up =
                existsSync(socket) &&
                (await requestOn(socket, "GET", "/_ping").then(
                  (r) => r.status === 200,
                  () => false,
                ));
              if (up) break;
              if (Date.now() > deadline) throw new Error(`stored ${index} did not answer: ${err}`);
              await new Promise((r) => setTimeout(r, 50));
            }
            return { index, root, socket, child, exited };
          };
          for (let i = 0; i < 4; i++) hosts.push(await launch(i));
          collector = await openS3SharedTier({
            bucket: s3.bucket,
            prefix,
            endpoint: s3.endpoint,
            region: "us-east-1",
            credentials: s3.clientConfig.credentials,
            hostId: "chaos-collector",
          });

          // What successful commands made (reference → image ID); "maybe" for commands cut by a kill.
          const expected = new Map<string, string>();
          const tally = { ok: 0, failed: 0, killed: 0, collected: 0, freed: 0 };
          let tags = 0;
          // What happened, for the failure message: a lost reference is explained by the history.
          const history: string[] = [];
          for (let round = 0; round < ROUNDS; round++) {
            const victim = rand() < 0.5 ? pick(hosts) : undefined;
            const ops = hosts.map(async (h) => {
              const kind = pick(["load", "load", "pull", "tag", "rmi"] as const);
              let what: string = kind;
              try {
                if (kind === "load") {
                  const a = pick(archives);
                  what = `load ${a.tag}`;
                  const r = await requestOn(h.socket, "POST", "/images/load?quiet=1", { body: a.bytes });
                  if (r.status !== 200 || r.text.includes("errorDetail")) throw new Error(r.text);
                  expected.set(`docker.io/library/${a.tag}`, a.id);
                } else if (kind === "pull") {
                  const r = await requestOn(h.socket, "POST", `/images/create?fromImage=${encodeURIComponent(pulled)}`, {
                    headers: { "X-Registry-Auth": "e30=" },
                  });
                  if (r.status !== 200 || r.text.includes("errorDetail")) throw new Error(r.text);
                  expected.set(pulled, image.config.digest);
                } else if (kind === "tag") {
                  const [from, id] = pick([...expected.entries(), [`docker.io/library/${archives[0]!.tag}`, archives[0]!.id] as [string, string]]);
                  const name = `tagged${++tags}`;
                  what = `tag ${from} ${name}:r${round}`;
                  const r = await requestOn(h.socket, "POST", `/images/${encodeURIComponent(from)}/tag?repo=${name}&tag=r${round}`);
                  if (r.status !== 201) throw new Error(r.text);
                  expected.set(`docker.io/library/${name}:r${round}`, id);
                } else {
                  const mine = [...expected.keys()].filter((k) => k.includes("/tagged"));
                  if (mine.length === 0) return;
                  const ref = pick(mine);
                  what = `rmi ${ref}`;
                  expected.delete(ref); // gone or maybe gone, either way no longer promised
                  const r = await requestOn(h.socket, "DELETE", `/images/${encodeURIComponent(ref)}`);
                  if (r.status !== 200) throw new Error(r.text);
                }
                tally.ok++;
                history.push(`${round} host${h.index} ${what}: ok`);
              } catch (e) {
                tally.failed++;
                history.push(`${round} host${h.index} ${what}: ${String((e as Error).message).slice(0, 200)}`);
              }
            });
            const gc = collector!.collectGarbage({ graceMs: 0, clockSkewMs: 0 }).then((report) => {
              tally.collected++;
              tally.freed += report.deleted.length;
            });
            if (victim) {
              history.push(`${round} kill host${victim.index}`);
              await new Promise((r) => setTimeout(r, Math.floor(rand() * 400)));
              victim.child.kill("SIGKILL");
              await victim.exited;
              tally.killed++;
            }
            await Promise.all(ops);
            await gc;
            if (victim) hosts[victim.index] = await launch(victim.index);
          }

          // Every reference promised is listed by every host; every image the tier holds is whole.
          await new Promise((r) => setTimeout(r, 1000));
          for (const h of hosts) {
            const rows = (await requestOn(h.socket, "GET", "/images/json")).json<{ Id: string; RepoTags: string[] }[]>();
            const listed = new Map<string, string>();
            for (const row of rows) for (const t of row.RepoTags) listed.set(t, row.Id);
            for (const [ref, id] of expected) {
              const familiar = ref.replace(/^docker\.io\/library\//, "");
              expect(listed.get(familiar), `host ${h.index}: ${familiar} (seed ${seed})\n${history.join("\n")}`).toBe(id);
            }
          }
          const state = await collector.refresh();
          for (const record of state.images.values()) {
            for (const digest of [record.id, record.manifest.digest, ...record.layers.map((l) => l.digest)]) {
              const bytes = await collector.blobs.get(digest); // verified against its digest
              expect(bytes.byteLength).toBeGreaterThan(0);
            }
          }
          // One successful upload per blob.
          const perKey = new Map<string, number>();
          for (const r of proxy.requests) {
            const m = /\/blobs\/content\/(sha256\/[0-9a-f]{64})(?:\?|$)/.exec(r.path);
            if (m && r.method === "PUT" && r.status >= 200 && r.status < 300) perKey.set(m[1]!, (perKey.get(m[1]!) ?? 0) + 1);
          }
          const repeated = [...perKey].filter(([, n]) => n > 1);
          expect(repeated, `seed ${seed}`).toEqual([]);
          console.log(`chaos (${label}, seed ${seed}): ${JSON.stringify(tally)}, ${perKey.size} blobs uploaded once each, ${expected.size} references kept`);

          for (const h of hosts) {
            h.child.kill("SIGTERM");
            await h.exited;
            const reader = await openStore({ root: h.root, access: "read" });
            try {
              expect((await reader.verify()).problems, `host ${h.index}`).toEqual([]);
            } finally {
              await reader.close();
            }
          }
        } finally {
          for (const h of hosts) if (h.child.exitCode === null) h.child.kill("SIGKILL");
          await collector?.close().catch(() => undefined);
          await proxy?.stop();
          await registry.stop();
          await s3.stop();
        }
      });
    }, 900_000);
  });
}

chaosSuite("s3rver", undefined, () => startS3rver());
chaosSuite("Ceph RGW", cephRgwSkipReason(), () => startCephRgw());
