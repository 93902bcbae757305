import { DeleteObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { type S3rverPeer, startS3rver } from "@store/test-peers";
import { afterAll, beforeAll } from "vitest";

let prefixes = 0;

/** A prefix no other test uses, so tests share one s3rver without seeing each other's objects. */
export function freshPrefix(label = "t"): string {
  return `${label}-${process.pid}-${++prefixes}/`;
}

/** A client straight to s3rver, beside the backend: to look at what is really stored. */
export function directClient(peer: S3rverPeer): S3Client {
  return new S3Client({ ...peer.clientConfig, maxAttempts: 1 });
}

/** Every object key under `prefix`. */
export async function listKeys(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) keys.push(o.Key!);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/**
 * Removes every object under `prefix`, one at a time: s3rver prunes emptied directories after
 * each delete, and parallel deletes in one directory race on that (a 500).
 */
export async function removeAll(client: S3Client, bucket: string, prefix: string): Promise<void> {
  for (const Key of await listKeys(client, bucket, prefix)) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key }));
}

/**
 * One s3rver for the test file, started before its tests and stopped after them, with a direct
 * client beside it. Read `peer` and `direct` inside tests (they are set once the suite starts).
 */
export function useS3rver(): { readonly peer: S3rverPeer; readonly direct: S3Client } {
  const state = {} as { peer: S3rverPeer; direct: S3Client };
  beforeAll(async () => {
    state.peer = await startS3rver();
    state.direct = directClient(state.peer);
  });
  afterAll(async () => {
    state.direct?.destroy();
    await state.peer?.stop();
  });
  return state;
}
