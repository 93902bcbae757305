import { join } from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import { createS3Backend } from "@store/backend-s3";
import { openStore } from "@store/service";
import { type S3rverPeer, hasRoot, startS3rver } from "@store/test-peers";
import { tempDir } from "@store/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Command, done, runCommand } from "./support/commands";
import { type SuiteFixtures, suiteFixtures } from "./support/fixtures";

// The S3 commands that change the bucket: the ones a fault can leave half done.
const MUTATING = new Set([
  "PutObjectCommand",
  "DeleteObjectCommand",
  "DeleteObjectsCommand",
  "CopyObjectCommand",
  "CreateMultipartUploadCommand",
  "UploadPartCommand",
  "CompleteMultipartUploadCommand",
]);

/**
 * An S3 client that counts the mutating commands it sends and fails the `failAt`th (and, with
 * `sticky`, every later one) before it reaches the server or the SDK's retries: the bucket
 * going away mid-command.
 */
function faultyClient(peer: S3rverPeer, failAt: number, sticky: boolean): { client: S3Client; count: () => number } {
  const client = new S3Client(peer.clientConfig);
  let seen = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (MUTATING.has(context.commandName ?? "")) {
        seen++;
        if (seen === failAt || (sticky && failAt > 0 && seen > failAt)) {
          throw Object.assign(new Error(`injected: ${context.commandName} #${seen} failed`), { name: "ServiceUnavailable", $fault: "server" });
        }
      }
      return next(args);
    },
    { step: "initialize", name: "faultInjection" },
  );
  return { client, count: () => seen };
}

// The imagedb on S3 (s3rver), every mutating S3 call of a load, an import and an rmi failed in
// turn, once and for good: the root opens, verify finds no damage, the command run again succeeds.
describe.skipIf(!hasRoot())("every S3 fault of a command with the imagedb on S3 is survived", () => {
  let dir: string;
  let remove: () => Promise<void>;
  let s3: S3rverPeer;
  let fixtures: SuiteFixtures;
  let survived = 0;
  let runs = 0;

  beforeAll(async () => {
    ({ path: dir, remove } = await tempDir("s3-fault-suite-"));
    s3 = await startS3rver();
    fixtures = await suiteFixtures(dir, (o) => openStore(o));
  }, 120_000);
  afterAll(async () => {
    console.log(`S3 fault injection: ${survived} injected faults survived`);
    await fixtures?.registry?.stop();
    await s3?.stop();
    await remove?.();
  });

  /** Opens the root with its imagedb under `prefix` of the bucket, through `client`. */
  async function open(root: string, prefix: string, client: S3Client) {
    const backend = await createS3Backend({ bucket: s3.bucket, prefix, client, conditionalCreate: false });
    return openStore({ root, backend, lockTimeoutMs: 2_000 });
  }

  async function invoke(root: string, prefix: string, client: S3Client, c: Command): Promise<void> {
    const store = await open(root, prefix, client);
    try {
      await runCommand(store, c);
    } finally {
      await store.close();
    }
  }

  for (const name of ["load", "import", "rmi"] as const) {
    for (const sticky of [false, true]) {
      it(`${name}: each mutating S3 call failed${sticky ? " for good" : " once"}`, async () => {
        const c = fixtures.commands[name]!;
        // A root (and prefix) holding the loaded image, for rmi; an empty one otherwise.
        const prepare = async (): Promise<{ root: string; prefix: string }> => {
          const root = join(dir, `run-${runs++}`);
          const prefix = `run-${runs}`;
          if (name === "rmi") {
            const plain = faultyClient(s3, 0, false);
            await invoke(root, prefix, plain.client, fixtures.commands.load!);
            plain.client.destroy();
          }
          return { root, prefix };
        };
        const dry = await prepare();
        const counter = faultyClient(s3, 0, false);
        await invoke(dry.root, dry.prefix, counter.client, c);
        counter.client.destroy();
        const calls = counter.count();
        expect(calls, "the command makes no mutating S3 call: nothing to fault").toBeGreaterThan(0);
        for (let n = 1; n <= calls; n++) {
          const { root, prefix } = await prepare();
          const faulty = faultyClient(s3, n, sticky);
          await invoke(root, prefix, faulty.client, c).catch(() => undefined);
          faulty.client.destroy();
          const plain = new S3Client(s3.clientConfig);
          try {
            const store = await open(root, prefix, plain);
            try {
              const report = await store.verify();
              expect(report.problems, `${name}, fault at S3 call ${n}: verify`).toEqual([]);
            } finally {
              await store.close();
            }
            const after = await open(root, prefix, plain);
            try {
              // Run again unless what it did is there (an rmi may have untagged before the fault).
              if (!done(after, c)) await runCommand(after, c);
              expect(done(after, c), `${name}, fault at S3 call ${n}: the command run again`).toBe(true);
              expect((await after.verify()).problems).toEqual([]);
            } finally {
              await after.close();
            }
          } finally {
            plain.destroy();
          }
          survived++;
        }
      }, 300_000);
    }
  }
});
