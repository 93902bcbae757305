import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, UploadPartCommand } from "@aws-sdk/client-s3";
import { abortUploadQuietly, objectSize } from "./object-writes";
import { isPreconditionFailed, s3IoError } from "./s3-errors";
import type { S3Target } from "./s3-target";

/** S3's limit on parts per upload. */
const maxParts = 10_000;

/**
 * The size of part `n` (1-based): `partSize` for the first 1,000 parts, doubling every 1,000
 * after. An upload of unknown length thus reaches 8 GiB in 8 MiB parts and still fits S3's
 * 10,000-part limit for anything up to terabytes, while memory stays bounded by the part size in use.
 */
export function partSizeFor(partSize: number, n: number): number {
  return partSize * 2 ** Math.floor((n - 1) / 1000);
}

/**
 * One multipart upload driven by hand: parts go up as they fill (at most `queueSize` at once)
 * and nothing becomes visible until {@link complete}, which the backend calls only after the
 * content's digest and size have checked out.
 */
export class MultipartUpload {
  /** Bytes added so far. */
  size = 0;
  private readonly parts: { PartNumber: number; ETag: string | undefined }[] = [];
  private readonly inflight = new Set<Promise<void>>();
  private next = 1;
  private failure: unknown;

  private constructor(
    private readonly t: S3Target,
    readonly objectKey: string,
    private readonly uploadId: string,
    private readonly release: (body: Uint8Array) => void,
  ) {}

  /** `release` gets each part's buffer back once the server has it, for reuse. */
  static async start(t: S3Target, objectKey: string, release: (body: Uint8Array) => void = () => undefined): Promise<MultipartUpload> {
    try {
      const r = await t.client.send(new CreateMultipartUploadCommand({ Bucket: t.bucket, Key: objectKey }));
      return new MultipartUpload(t, objectKey, r.UploadId!, release);
    } catch (e) {
      throw s3IoError("CreateMultipartUpload", t.bucket, objectKey, e);
    }
  }

  /** Queues the next part, waiting while `queueSize` parts are in flight; throws a part's failure. */
  async add(body: Uint8Array): Promise<void> {
    while (this.inflight.size >= this.t.queueSize) await Promise.race(this.inflight);
    if (this.failure !== undefined) throw this.failure;
    const n = this.next++;
    if (n > maxParts) throw s3IoError("UploadPart", this.t.bucket, this.objectKey, new Error(`more than ${maxParts} parts: raise partSize`));
    this.size += body.byteLength;
    const sent: Promise<void> = this.t.client
      .send(
        new UploadPartCommand({
          Bucket: this.t.bucket,
          Key: this.objectKey,
          UploadId: this.uploadId,
          PartNumber: n,
          Body: body,
          ContentLength: body.byteLength,
        }),
      )
      .then(
        (r) => {
          this.parts.push({ PartNumber: n, ETag: r.ETag });
          this.release(body);
        },
        (e) => void (this.failure ??= s3IoError(`UploadPart ${n}`, this.t.bucket, this.objectKey, e)),
      )
      .finally(() => this.inflight.delete(sent));
    this.inflight.add(sent);
  }

  /** Waits for every queued part; throws the first failure. */
  async flush(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
    if (this.failure !== undefined) throw this.failure;
  }

  /**
   * Publishes the upload. "exists" when `If-None-Match: *` found the object there already (the
   * upload is then aborted). A Complete that is retried after its first attempt landed gets
   * NoSuchUpload (s3rver: a 500), so on failure the object's presence with our size decides.
   */
  async complete(ifNoneMatch: boolean): Promise<"created" | "exists"> {
    await this.flush();
    const Parts = [...this.parts].sort((a, b) => a.PartNumber - b.PartNumber);
    try {
      await this.t.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.t.bucket,
          Key: this.objectKey,
          UploadId: this.uploadId,
          MultipartUpload: { Parts },
          IfNoneMatch: ifNoneMatch ? "*" : undefined,
        }),
      );
      return "created";
    } catch (e) {
      if (ifNoneMatch && isPreconditionFailed(e)) {
        await this.abort();
        return "exists";
      }
      const size = await objectSize(this.t, this.objectKey).catch(() => undefined);
      await this.abort();
      if (size === this.size) return "created";
      throw s3IoError("CompleteMultipartUpload", this.t.bucket, this.objectKey, e);
    }
  }

  /** Drops the upload and its parts (best effort: an incomplete upload is invisible anyway). */
  async abort(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
    await abortUploadQuietly(this.t, this.objectKey, this.uploadId);
  }
}
