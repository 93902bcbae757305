import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { retryDelayMs, sleep } from "./retry-delay";
import { isConditionalConflict, isNotFound, isPreconditionFailed, s3IoError } from "./s3-errors";
import type { S3Target } from "./s3-target";

/** CopyObject's limit; larger objects are copied part by part. */
const maxSingleCopy = 5 * 1024 ** 3;
const copyPartSize = 1024 ** 3;

/**
 * PUTs `body` at `objectKey`; resolves to false when `ifNoneMatch` found an object there (412),
 * which is then left alone. A retried PUT whose first attempt landed answers 412 too: for
 * content (the only create-only writes) that is the same bytes, so "not created" is still true
 * of this call's outcome, and nothing is lost.
 */
export async function putObject(t: S3Target, objectKey: string, body: Uint8Array, ifNoneMatch: boolean): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      await t.client.send(
        new PutObjectCommand({ Bucket: t.bucket, Key: objectKey, Body: body, ContentLength: body.byteLength, IfNoneMatch: ifNoneMatch ? "*" : undefined }),
      );
      return true;
    } catch (e) {
      if (ifNoneMatch && isPreconditionFailed(e)) return false;
      // AWS answers 409 when conditional writes of one key race; the next attempt settles it.
      if (ifNoneMatch && isConditionalConflict(e) && attempt < 5) {
        await sleep(retryDelayMs(attempt));
        continue;
      }
      throw s3IoError("PutObject", t.bucket, objectKey, e);
    }
  }
}

/** The object's size, or undefined when there is none. */
export async function objectSize(t: S3Target, objectKey: string): Promise<number | undefined> {
  return (await objectHead(t, objectKey))?.size;
}

/** The object's size and Last-Modified (from one HEAD), or undefined when there is none. */
export async function objectHead(t: S3Target, objectKey: string): Promise<{ size: number; modifiedAt?: Date } | undefined> {
  try {
    const head = await t.client.send(new HeadObjectCommand({ Bucket: t.bucket, Key: objectKey }));
    return head.LastModified === undefined ? { size: head.ContentLength ?? 0 } : { size: head.ContentLength ?? 0, modifiedAt: head.LastModified };
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw s3IoError("HeadObject", t.bucket, objectKey, e);
  }
}

/** Deletes an object, ignoring failure: for temp objects, which walk never sees anyway. */
export async function deleteQuietly(t: Pick<S3Target, "client" | "bucket">, objectKey: string): Promise<void> {
  await t.client.send(new DeleteObjectCommand({ Bucket: t.bucket, Key: objectKey })).catch(() => undefined);
}

/** Aborts a multipart upload, ignoring failure: an incomplete upload is never visible. */
export async function abortUploadQuietly(t: S3Target, objectKey: string, uploadId: string): Promise<void> {
  await t.client.send(new AbortMultipartUploadCommand({ Bucket: t.bucket, Key: objectKey, UploadId: uploadId })).catch(() => undefined);
}

function copySource(bucket: string, objectKey: string): string {
  return `${bucket}/${objectKey.split("/").map(encodeURIComponent).join("/")}`;
}

/**
 * Server-side copy of `from` (of `size` bytes) to `to`, with the same conditional-create rule
 * and result as {@link putObject}. Beyond CopyObject's 5 GiB, copies 1 GiB ranges with UploadPartCopy.
 */
export async function copyObject(t: S3Target, from: string, to: string, size: number, ifNoneMatch: boolean): Promise<boolean> {
  try {
    if (size <= maxSingleCopy) {
      await t.client.send(
        new CopyObjectCommand({ Bucket: t.bucket, Key: to, CopySource: copySource(t.bucket, from), IfNoneMatch: ifNoneMatch ? "*" : undefined }),
      );
    } else {
      await multipartCopy(t, from, to, size, ifNoneMatch);
    }
    return true;
  } catch (e) {
    if (ifNoneMatch && isPreconditionFailed(e)) return false;
    throw s3IoError("CopyObject", t.bucket, to, e);
  }
}

async function multipartCopy(t: S3Target, from: string, to: string, size: number, ifNoneMatch: boolean): Promise<void> {
  const { UploadId } = await t.client.send(new CreateMultipartUploadCommand({ Bucket: t.bucket, Key: to }));
  try {
    const parts: { PartNumber: number; ETag?: string }[] = [];
    for (let start = 0, n = 1; start < size; start += copyPartSize, n++) {
      const end = Math.min(size, start + copyPartSize) - 1;
      const r = await t.client.send(
        new UploadPartCopyCommand({
          Bucket: t.bucket,
          Key: to,
          UploadId,
          PartNumber: n,
          CopySource: copySource(t.bucket, from),
          CopySourceRange: `bytes=${start}-${end}`,
        }),
      );
      parts.push({ PartNumber: n, ETag: r.CopyPartResult?.ETag });
    }
    await t.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: t.bucket,
        Key: to,
        UploadId,
        MultipartUpload: { Parts: parts },
        IfNoneMatch: ifNoneMatch ? "*" : undefined,
      }),
    );
  } catch (e) {
    await abortUploadQuietly(t, to, UploadId!);
    throw e;
  }
}
