import { execFile } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasRoot, which } from "./system";

/** Client settings an AWS SDK v3 S3 client needs to talk to the gateway (see {@link startCephRgw}). */
export interface CephRgwClientConfig {
  endpoint: string;
  region: "us-east-1";
  forcePathStyle: true;
  credentials: { accessKeyId: string; secretAccessKey: string };
  // RGW 16 answers 411 to the SDK's default aws-chunked checksum trailers on streamed bodies.
  requestChecksumCalculation: "WHEN_REQUIRED";
  responseChecksumValidation: "WHEN_REQUIRED";
}

/** A running single-node Ceph cluster (one mon, one memstore OSD, one radosgw) on 127.0.0.1, with one bucket. */
export interface CephRgwPeer {
  /** The temp directory holding config, data, logs and pid files (removed by stop()). */
  readonly dir: string;
  readonly port: number;
  readonly endpoint: string;
  /** The bucket created at start, owned by the test user. */
  readonly bucket: string;
  /** PIDs of the three daemons. */
  readonly pids: { readonly mon: number; readonly osd: number; readonly rgw: number };
  readonly clientConfig: CephRgwClientConfig;
  /** Stops the daemons by PID (SIGTERM, then SIGKILL after 2 s) and removes `dir`. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartCephRgwOptions {
  /** The bucket to create (default "store-test"). */
  bucket?: string;
  /** How long each start step may take (default 60 s). */
  timeoutMs?: number;
}

const binaries = ["ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "ceph", "monmaptool", "curl"];

/**
 * Why a Ceph RGW cannot run here (not root, binaries missing), or undefined when it can. Use it
 * with `describe.skipIf(cephRgwSkipReason())`.
 */
export function cephRgwSkipReason(): string | undefined {
  if (!hasRoot()) return "Ceph's daemons need root";
  const missing = binaries.filter((b) => !which(b));
  if (missing.length > 0) {
    return `no ${missing.join(", ")} on PATH (Debian: apt-get install --no-install-recommends ceph-mon ceph-osd radosgw ceph-common)`;
  }
  return undefined;
}

/** A free TCP port on 127.0.0.1 (asked of the kernel, then released for the daemon to take). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The ceph.conf of ceph-rgw.md: auth none (S3 requests are still SigV4-checked against the RGW
 * user's keys), pools of size one, fast paxos (a start in ~2 s instead of 13 s), memstore, the
 * beast frontend with tcp_nodelay, crc mode to the mon (radosgw's default `secure` hangs with auth
 * none), and everything under `dir`.
 */
function cephConf(dir: string, fsid: string, monPort: number, rgwPort: number): string {
  return `[global]
fsid = ${fsid}
mon host = v2:127.0.0.1:${monPort}
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
ms bind msgr2 = true
auth cluster required = none
auth service required = none
auth client required = none
mon allow pool size one = true
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
osd crush chooseleaf type = 0
paxos propose interval = 0.05
paxos min wait = 0.01
run dir = ${dir}/run
log file = ${dir}/log/$name.log
admin socket = ${dir}/run/$name.asok
pid file = ${dir}/run/$name.pid
log to stderr = false

[mon]
mon data = ${dir}/mon.a

[osd]
osd data = ${dir}/osd.0
osd objectstore = memstore
memstore device bytes = 4294967296
osd op num shards = 1
osd op num threads per shard = 2
osd max object name len = 460
osd max object namespace len = 64

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:${rgwPort} tcp_nodelay=1
ms mon client mode = crc
rgw data = ${dir}/rgw
rgw gc obj min wait = 30
rgw gc processor period = 30
rgw thread pool size = 64
`;
}

/**
 * Starts a single-node Ceph cluster as ceph-rgw.md describes — one mon, one OSD keeping data in
 * memory, one radosgw on 127.0.0.1, no mgr, all under a temp dir — creates an S3 user and
 * `bucket`, and resolves once the gateway answers (about 2 s). The daemons fork into the
 * background; they are stopped by the PIDs in their pid files. Memstore data does not survive
 * a restart. Needs root; check {@link cephRgwSkipReason} first.
 */
export async function startCephRgw(options: StartCephRgwOptions = {}): Promise<CephRgwPeer> {
  const skip = cephRgwSkipReason();
  if (skip) throw new Error(`startCephRgw: ${skip}`);
  const bucket = options.bucket ?? "store-test";
  const timeoutMs = options.timeoutMs ?? 60_000;
  const dir = await mkdtemp(join(tmpdir(), "ceph-"));
  for (const sub of ["log", "run", "osd.0", "rgw"]) await mkdir(join(dir, sub));
  const [monPort, rgwPort] = [await freePort(), await freePort()];
  const fsid = randomUUID();
  const conf = join(dir, "ceph.conf");
  await writeFile(conf, cephConf(dir, fsid, monPort, rgwPort));
  const env = { ...process.env, CEPH_CONF: conf };

  const run = (command: string, args: string[]): Promise<string> =>
    new Promise((resolve, reject) => {
      execFile(command, args, { env, timeout: timeoutMs, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`startCephRgw: ${command} ${args.join(" ")} failed: ${error.message}\n${stderr}`));
        else resolve(stdout);
      });
    });

  const pidOf = (name: string): number | undefined => {
    const file = join(dir, "run", `${name}.pid`);
    const pid = existsSync(file) ? Number.parseInt(readFileSync(file, "utf8"), 10) : NaN;
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  };
  const daemons = ["mon.a", "osd.0", "client.rgw.a"];
  // A test run that dies without stop() must not leave daemons behind.
  const onExit = () => {
    for (const name of daemons) {
      const pid = pidOf(name);
      if (pid !== undefined && isAlive(pid)) process.kill(pid, "SIGKILL");
    }
  };
  process.once("exit", onExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      process.removeListener("exit", onExit);
      const pids = daemons.map(pidOf).filter((pid): pid is number => pid !== undefined && isAlive(pid));
      for (const pid of pids) process.kill(pid, "SIGTERM");
      // A graceful radosgw exit takes ~7 s; nothing of a test cluster is worth waiting for.
      const deadline = Date.now() + 2_000;
      while (pids.some(isAlive) && Date.now() < deadline) await sleep(100);
      for (const pid of pids.filter(isAlive)) process.kill(pid, "SIGKILL");
      while (pids.some(isAlive)) await sleep(50);
      await rm(dir, { recursive: true, force: true });
    })());

  const until = async (what: string, ready: () => Promise<boolean>): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!(await ready().catch(() => false))) {
      if (Date.now() > deadline) {
        const logs = await readFile(join(dir, "log", "client.rgw.a.log"), "utf8").catch(() => "");
        throw new Error(`startCephRgw: ${what} not ready after ${timeoutMs} ms\n${logs.slice(-2000)}`);
      }
      await sleep(100);
    }
  };

  try {
    // 1. The monitor.
    const monmap = join(dir, "monmap");
    await run("monmaptool", ["--create", "--fsid", fsid, "--addv", "a", `[v2:127.0.0.1:${monPort}]`, monmap]);
    await run("ceph-mon", ["--mkfs", "-i", "a", "--monmap", monmap]);
    await run("ceph-mon", ["-i", "a"]);
    // 2. The OSD, in memory.
    const osdUuid = randomUUID();
    const id = (await run("ceph", ["osd", "new", osdUuid])).trim();
    if (id !== "0") throw new Error(`startCephRgw: ceph osd new gave id ${JSON.stringify(id)}, expected 0`);
    await run("ceph-osd", ["-i", "0", "--mkfs", "--osd-uuid", osdUuid]);
    await run("ceph-osd", ["-i", "0"]);
    await until("osd.0", async () => /^osd\.0 up/m.test(await run("ceph", ["osd", "dump"])));
    // 3. The gateway.
    await run("radosgw", ["-n", "client.rgw.a"]);
    const endpoint = `http://127.0.0.1:${rgwPort}`;
    await until("radosgw", async () => (await fetch(`${endpoint}/`)).ok);
    // 4. A user, and its bucket (SigV4-signed by curl, so no SDK is needed here).
    const accessKeyId = `TEST${randomBytes(8).toString("hex").toUpperCase()}`;
    const secretAccessKey = randomBytes(20).toString("hex");
    await run("radosgw-admin", [
      "-n",
      "client.admin",
      "user",
      "create",
      "--uid=test",
      "--display-name=test",
      `--access-key=${accessKeyId}`,
      `--secret-key=${secretAccessKey}`,
    ]);
    // RGW wants the payload's hash in x-amz-content-sha256, which curl signs but does not add.
    const emptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    await run("curl", [
      "-fsS",
      "-X",
      "PUT",
      "--aws-sigv4",
      "aws:amz:us-east-1:s3",
      "--user",
      `${accessKeyId}:${secretAccessKey}`,
      "-H",
      `x-amz-content-sha256: ${emptySha256}`,
      `${endpoint}/${bucket}`,
    ]);

    const pid = (name: string) => {
      const found = pidOf(name);
      if (found === undefined) throw new Error(`startCephRgw: no pid file for ${name}`);
      return found;
    };
    return {
      dir,
      port: rgwPort,
      endpoint,
      bucket,
      pids: { mon: pid("mon.a"), osd: pid("osd.0"), rgw: pid("client.rgw.a") },
      clientConfig: {
        endpoint,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: { accessKeyId, secretAccessKey },
        requestChecksumCalculation: "WHEN_REQUIRED",
        responseChecksumValidation: "WHEN_REQUIRED",
      },
      stop,
    };
  } catch (e) {
    await stop().catch(() => undefined);
    throw e;
  }
}
