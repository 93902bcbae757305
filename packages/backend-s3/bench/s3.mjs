// Benchmark: the S3 backend beside the raw AWS SDK doing the same work, in the same run,
// alternating (ours, raw, ours, raw…), against s3rver on loopback:
//   - walk of 10,000 entries   (backend.walk        vs  ListObjectsV2 pages, delimiter "/")
//   - put of a 256 MiB blob    (backend.setStream   vs  lib-storage Upload, same part size and queue)
//   - get of a 256 MiB blob    (backend.getStream, verified  vs  GetObject body, unverified)
// Prints the best of each side, MB/s, and ours/raw time ratios.
//
// Run from the repo root after building:  npx turbo run build --filter=@store/backend-s3...
//   node packages/backend-s3/bench/s3.mjs [--entries 10000] [--mib 256] [--rounds 3]
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { parseArgs } from "node:util";
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { contentKey } from "@store/backend";
import { parseDigest } from "@store/digest";
import { createS3Backend } from "../dist/index.js";

const { values: args } = parseArgs({
  options: { entries: { type: "string", default: "10000" }, mib: { type: "string", default: "256" }, rounds: { type: "string", default: "3" } },
});
const entries = Number(args.entries);
const blobSize = Number(args.mib) * 1024 * 1024;
const rounds = Number(args.rounds);
const partSize = 8 * 1024 * 1024;
const queueSize = 4;
const bucket = "bench";

// s3rver as a child, as test-peers' startS3rver does (that helper is TypeScript, this is plain
// Node): its paginated listing needs the OpenSSL legacy provider, kept out of this process.
async function startS3rver() {
  const directory = await mkdtemp(join(tmpdir(), "s3rver-bench-"));
  const entry = createRequire(import.meta.url).resolve("s3rver");
  const script = `const S3rver = require(process.argv[1]);
new S3rver({ address: "127.0.0.1", port: 0, directory: process.argv[2], silent: true, configureBuckets: [{ name: process.argv[3], configs: [] }] })
  .run().then(({ port }) => process.stdout.write(JSON.stringify({ port }) + "\\n"));
process.stdin.on("end", () => process.exit(0)); process.stdin.resume();`;
  const child = spawn(process.execPath, ["--openssl-legacy-provider", "-e", script, entry, directory, bucket], { stdio: ["pipe", "pipe", "inherit"] });
  const port = await new Promise((resolve, reject) => {
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (s) => {
      out += s;
      if (out.includes("\n")) resolve(JSON.parse(out.split("\n")[0]).port);
    });
    child.once("exit", (code) => reject(new Error(`s3rver exited with ${code}`)));
  });
  return {
    port,
    async stop() {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      process.kill(child.pid, "SIGTERM");
      await exited;
      await rm(directory, { recursive: true, force: true });
    },
  };
}

const MB = 1e6;
const fmt = (n, d = 1) => n.toFixed(d);
async function time(fn) {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Alternates ours and raw `rounds` times, with `between` (untimed) after each; best of each. */
async function compare(name, ours, raw, between = async () => {}) {
  const t = { ours: [], raw: [] };
  for (let i = 0; i < rounds; i++) {
    t.ours.push(await time(ours));
    await between();
    t.raw.push(await time(raw));
    await between();
  }
  return { name, ours: Math.min(...t.ours), raw: Math.min(...t.raw), all: t };
}

const s3rver = await startS3rver();
const clientConfig = {
  endpoint: `http://127.0.0.1:${s3rver.port}`,
  region: "us-east-1",
  forcePathStyle: true,
  credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
  requestChecksumCalculation: "WHEN_REQUIRED",
  responseChecksumValidation: "WHEN_REQUIRED",
};
// The raw side gets the same keep-alive agents our backend builds for itself, so the comparison
// is of the code above the HTTP layer, not of connection handling.
const { Agent } = await import("node:http");
const raw = new S3Client({ ...clientConfig, requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 64 }) } });
const results = [];
try {
  // Walk: 10,000 content objects written straight with the SDK (untimed).
  const walkPrefix = "walk/";
  const backend = await createS3Backend({ bucket, prefix: walkPrefix, clientConfig, conditionalCreate: false });
  process.stdout.write(`writing ${entries} entries… `);
  const ids = [];
  for (let i = 0; i < entries; i += 64) {
    await Promise.all(
      Array.from({ length: Math.min(64, entries - i) }, async (_, j) => {
        const body = Buffer.from(`entry ${i + j}`);
        const hex = createHash("sha256").update(body).digest("hex");
        ids.push(hex);
        await raw.send(new PutObjectCommand({ Bucket: bucket, Key: `${walkPrefix}content/sha256/${hex}`, Body: body }));
      }),
    );
  }
  console.log("done");
  let walked = 0;
  let listed = 0;
  results.push(
    await compare(
      `walk of ${entries} entries`,
      async () => {
        walked = 0;
        await backend.walk(() => {
          walked++;
        });
      },
      async () => {
        listed = 0;
        let token;
        do {
          const page = await raw.send(
            new ListObjectsV2Command({ Bucket: bucket, Prefix: `${walkPrefix}content/sha256/`, Delimiter: "/", ContinuationToken: token }),
          );
          listed += page.Contents?.length ?? 0;
          token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token);
      },
    ),
  );
  if (walked !== entries || listed !== entries) throw new Error(`walk saw ${walked}, listing ${listed}, of ${entries}`);
  await backend.close();

  // Put and get of one large blob, fed in 1 MiB chunks from memory on both sides.
  const blob = Buffer.allocUnsafe(blobSize);
  for (let i = 0; i < blobSize; i += 4) blob.writeUInt32LE((Math.imul(i, 2654435761) ^ (i >>> 7)) >>> 0, i);
  const hex = createHash("sha256").update(blob).digest("hex");
  const id = parseDigest(`sha256:${hex}`);
  const chunks = function* () {
    for (let i = 0; i < blobSize; i += 1 << 20) yield blob.subarray(i, Math.min(blobSize, i + (1 << 20)));
  };
  const blobPrefix = "blob/";
  const store = await createS3Backend({ bucket, prefix: blobPrefix, clientConfig, conditionalCreate: false, partSize, queueSize });
  const ourKey = `${blobPrefix}${contentKey(id)}`;
  const rawKey = "raw/blob";
  const removeBoth = async () => {
    await raw.send(new DeleteObjectCommand({ Bucket: bucket, Key: ourKey }));
    await raw.send(new DeleteObjectCommand({ Bucket: bucket, Key: rawKey }));
  };
  const rawUpload = () => new Upload({ client: raw, params: { Bucket: bucket, Key: rawKey, Body: Readable.from(chunks()) }, partSize, queueSize }).done();
  results.push(
    await compare(
      `put ${args.mib} MiB, digest known (setStream expected)`,
      () => store.setStream(chunks(), { expected: id, size: blobSize }),
      rawUpload,
      removeBoth,
    ),
  );
  results.push(await compare(`put ${args.mib} MiB, digest unknown (tmp/ + server-side copy)`, () => store.setStream(chunks()), rawUpload, removeBoth));

  await store.setStream(chunks(), { expected: id });
  await rawUpload();
  results.push(
    await compare(
      `get ${args.mib} MiB (ours verifies sha256)`,
      async () => {
        let n = 0;
        for await (const c of await store.getStream(id)) n += c.byteLength;
        if (n !== blobSize) throw new Error(`read ${n}`);
      },
      async () => {
        const r = await raw.send(new GetObjectCommand({ Bucket: bucket, Key: rawKey }));
        let n = 0;
        for await (const c of r.Body) n += c.byteLength;
        if (n !== blobSize) throw new Error(`read ${n}`);
      },
    ),
  );
  await store.close();
} finally {
  raw.destroy();
  await s3rver.stop();
}

console.log(`\nbest of ${rounds} alternating rounds, s3rver on loopback, parts of ${partSize >> 20} MiB × ${queueSize} in flight\n`);
for (const r of results) {
  const rate = r.name.startsWith("walk") ? (s) => `${fmt(entries / s, 0)} entries/s` : (s) => `${fmt(blobSize / MB / s)} MB/s`;
  console.log(`${r.name}`);
  console.log(`  ours ${fmt(r.ours, 3)} s  ${rate(r.ours)}   raw SDK ${fmt(r.raw, 3)} s  ${rate(r.raw)}   ours/raw time ${fmt(r.ours / r.raw, 2)}×`);
  console.log(`  all rounds: ours ${r.all.ours.map((s) => fmt(s, 2)).join(" ")}  raw ${r.all.raw.map((s) => fmt(s, 2)).join(" ")}`);
}
