import { BackendError, BackendErrorCode } from "@store/backend";
import { StoreError } from "@store/errors";

/** Stable codes of errors specific to the S3 backend (I/O failures use ERR_BACKEND_IO). */
export const S3BackendErrorCode = {
  /** createS3Backend was given options it cannot work with (no bucket, a bad prefix…). */
  InvalidOptions: "ERR_S3_INVALID_OPTIONS",
} as const;
export type S3BackendErrorCode = (typeof S3BackendErrorCode)[keyof typeof S3BackendErrorCode];

export class S3BackendError extends StoreError<S3BackendErrorCode> {}

/** The fields of an AWS SDK v3 error we branch on. */
interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

const shape = (e: unknown): SdkErrorShape => (typeof e === "object" && e !== null ? (e as SdkErrorShape) : {});

/** HTTP status of an SDK error, when the server answered. */
export function httpStatus(e: unknown): number | undefined {
  return shape(e).$metadata?.httpStatusCode;
}

/**
 * A missing object. NoSuchBucket is a 404 too, and must not read as "no such content": a
 * misconfigured bucket would otherwise look like an empty store.
 */
export function isNotFound(e: unknown): boolean {
  const { name } = shape(e);
  if (name === "NoSuchBucket") return false;
  return name === "NoSuchKey" || name === "NotFound" || httpStatus(e) === 404;
}

/** `If-None-Match: *` refused the write: the object exists already. */
export function isPreconditionFailed(e: unknown): boolean {
  return shape(e).name === "PreconditionFailed" || httpStatus(e) === 412;
}

/** A concurrent conditional write raced ours (AWS asks to retry). */
export function isConditionalConflict(e: unknown): boolean {
  return shape(e).name === "ConditionalRequestConflict" || httpStatus(e) === 409;
}

/**
 * A failure worth another attempt at the application level: a connection dropped while a body
 * was streaming (the SDK's own retries end once headers arrive), a timeout, a 5xx or throttling.
 */
export function isTransient(e: unknown): boolean {
  const { name, code, message } = shape(e);
  const status = httpStatus(e);
  if (status !== undefined) return status >= 500 || status === 429 || name === "SlowDown";
  return (
    ["ECONNRESET", "EPIPE", "ETIMEDOUT", "ECONNREFUSED", "ERR_STREAM_PREMATURE_CLOSE", "UND_ERR_SOCKET"].includes(code ?? "") ||
    name === "TimeoutError" ||
    message === "aborted" ||
    /premature|socket hang up|ended early/i.test(message ?? "")
  );
}

/**
 * Wraps a failed S3 request as ERR_BACKEND_IO naming the bucket and object key, the operation and
 * how many attempts were made, so "which object, where, after what" is in the message itself.
 */
export function s3IoError(operation: string, bucket: string, objectKey: string, cause: unknown): BackendError {
  const { name, message } = shape(cause);
  const status = httpStatus(cause);
  const attempts = shape(cause).$metadata?.attempts;
  const what = [name && name !== "Error" ? name : undefined, status ? `HTTP ${status}` : undefined].filter(Boolean).join(", ");
  return new BackendError(
    BackendErrorCode.Io,
    `s3://${bucket}/${objectKey}: ${operation} failed${attempts && attempts > 1 ? ` after ${attempts} attempts` : ""}: ` +
      `${what ? `${what}: ` : ""}${message ?? String(cause)}`,
    { cause, details: { bucket, key: objectKey, operation, status, s3Code: name, attempts } },
  );
}
