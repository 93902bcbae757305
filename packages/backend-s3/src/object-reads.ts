import { GetObjectCommand, type GetObjectCommandOutput } from "@aws-sdk/client-s3";
import { retryDelayMs, sleep } from "./retry-delay";
import { isNotFound, isPreconditionFailed, isTransient, s3IoError } from "./s3-errors";
import type { S3Target } from "./s3-target";

type Body = AsyncIterable<Uint8Array> & { transformToByteArray(): Promise<Uint8Array> };

/** GETs an object (from `range.offset` on, if it still has `range.etag`); undefined when missing. */
async function getObject(t: S3Target, objectKey: string, range?: { offset: number; etag?: string }): Promise<GetObjectCommandOutput | undefined> {
  try {
    return await t.client.send(
      new GetObjectCommand({
        Bucket: t.bucket,
        Key: objectKey,
        Range: range ? `bytes=${range.offset}-` : undefined,
        IfMatch: range?.etag,
      }),
    );
  } catch (e) {
    if (isNotFound(e) && range === undefined) return undefined;
    if (isPreconditionFailed(e)) {
      throw s3IoError("GetObject", t.bucket, objectKey, new Error("the object changed while it was being read", { cause: e }));
    }
    throw s3IoError("GetObject", t.bucket, objectKey, e);
  }
}

/**
 * The whole object, or undefined when there is none. The SDK retries a request only until its
 * headers arrive; a connection dropped while the body flows is retried here, a bounded number of
 * times with jittered backoff.
 */
export async function readObject(t: S3Target, objectKey: string): Promise<Uint8Array | undefined> {
  for (let attempt = 1; ; attempt++) {
    const res = await getObject(t, objectKey);
    if (res === undefined) return undefined;
    try {
      const bytes = await (res.Body as Body).transformToByteArray();
      if (res.ContentLength !== undefined && bytes.byteLength !== res.ContentLength) {
        throw Object.assign(new Error(`body ended early: ${bytes.byteLength} of ${res.ContentLength} bytes`), { code: "ERR_STREAM_PREMATURE_CLOSE" });
      }
      return bytes;
    } catch (e) {
      if (!isTransient(e) || attempt >= t.readAttempts) throw s3IoError("GetObject (body)", t.bucket, objectKey, e);
      await sleep(retryDelayMs(attempt));
    }
  }
}

/**
 * The object as a stream, or undefined when there is none. When the connection drops mid-body,
 * the stream resumes where it stopped with a ranged GET pinned to the first response's ETag
 * (If-Match), so a multi-GiB read survives a reset without starting over and never splices two
 * versions of an object. Content is verified by digest above this layer in any case.
 */
export async function openObjectStream(t: S3Target, objectKey: string): Promise<AsyncIterable<Uint8Array> | undefined> {
  const first = await getObject(t, objectKey);
  if (first === undefined) return undefined;
  return resumingBody(t, objectKey, first);
}

async function* resumingBody(t: S3Target, objectKey: string, first: GetObjectCommandOutput): AsyncGenerator<Uint8Array> {
  const total = first.ContentLength;
  const etag = first.ETag;
  let res = first;
  let offset = 0;
  let failures = 0;
  let failedAt = -1;
  for (;;) {
    // A server that ignores Range answers 200 with the whole object: skip what we delivered.
    let skip = res === first || res.ContentRange?.startsWith(`bytes ${offset}-`) ? 0 : offset;
    try {
      for await (const raw of res.Body as Body) {
        let chunk = raw;
        if (skip > 0) {
          const n = Math.min(skip, chunk.byteLength);
          skip -= n;
          chunk = chunk.subarray(n);
          if (chunk.byteLength === 0) continue;
        }
        offset += chunk.byteLength;
        yield chunk;
      }
      if (total !== undefined && offset < total) {
        throw Object.assign(new Error(`body ended early: ${offset} of ${total} bytes`), { code: "ERR_STREAM_PREMATURE_CLOSE" });
      }
      return;
    } catch (e) {
      // The budget is per stall, not per read: a long read that keeps moving may resume often.
      if (offset > failedAt) failures = 0;
      failedAt = offset;
      if (!isTransient(e) || ++failures >= t.readAttempts) {
        throw s3IoError(`GetObject (body, at byte ${offset})`, t.bucket, objectKey, e);
      }
      await sleep(retryDelayMs(failures));
      res = (await getObject(t, objectKey, { offset, etag }))!;
    }
  }
}
