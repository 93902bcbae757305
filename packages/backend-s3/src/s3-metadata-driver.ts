import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { type MetadataCapabilities, type MetadataDriver, MetadataError, MetadataErrorCode, type MetadataRecord, isMetadataKey } from "@store/metadata";
import { unquoteEtag } from "./probe-conditional-writes";
import { retryDelayMs, sleep } from "./retry-delay";
import { isConditionalConflict, isNotFound, isPreconditionFailed, isTransient, s3IoError } from "./s3-errors";

/** The MD5 of no bytes: the ETag of every tombstone (an empty object), so never a record's version. */
const tombstoneEtag = "d41d8cd98f00b204e9800998ecf8427e";
/** Rounds of a conditional write interrupted by AWS's 409 (concurrent conditional writes) or a vanished tombstone. */
const maxRounds = 10;

/** Where the driver keeps records, and what the server was found to honour. */
export interface S3MetadataTarget {
  readonly client: S3Client;
  readonly bucket: string;
  /** "" or a prefix ending in "/". */
  readonly prefix: string;
  /** The server enforces `If-None-Match: *` and `If-Match` on PutObject (see probeConditionalWrites). */
  readonly conditional: boolean;
}

/** The object as read: its bytes and unquoted ETag, an empty object included (a tombstone). */
interface StoredObject {
  data: Uint8Array;
  etag: string;
}

/**
 * Metadata records as objects, `<prefix><key>`, written with single PutObjects; a record's
 * version is its ETag, unquoted (the form Ceph RGW 16 accepts back in If-Match). putIfAbsent is
 * `If-None-Match: *`, putIfVersion `If-Match: <etag>`.
 *
 * A versioned delete is a PUT too: the record is replaced, `If-Match: <etag>`, by an empty
 * object, a tombstone that reads as no record. DeleteObject's If-Match is honoured by AWS only
 * since 2025 and silently ignored by Ceph RGW 16, which would make a stale delete succeed; a
 * conditional PUT is enforced everywhere that enforces anything. Creating over a tombstone swaps
 * it out with `If-Match` on its ETag. Hence records are never empty (the contract refuses empty
 * data), and tombstones of deleted keys stay behind as empty objects until an unconditional
 * delete removes them.
 */
export class S3MetadataDriver implements MetadataDriver {
  readonly name = "s3";
  readonly capabilities: MetadataCapabilities;

  constructor(
    readonly target: S3MetadataTarget,
    private readonly onClose?: () => void,
  ) {
    this.capabilities = { conditional: target.conditional, persistent: true, shared: true };
  }

  async read(key: string): Promise<MetadataRecord | undefined> {
    const stored = await this.getObject(this.objectKey(key));
    return stored === undefined || stored.data.byteLength === 0 ? undefined : { data: stored.data, version: stored.etag };
  }

  async create(key: string, data: Uint8Array): Promise<string | undefined> {
    const objectKey = this.objectKey(key);
    for (let round = 1; ; round++) {
      const created = await this.put(objectKey, data, { IfNoneMatch: "*" });
      if (created !== undefined) return created;
      const current = await this.getObject(objectKey);
      if (current !== undefined && current.data.byteLength > 0) return undefined;
      if (current !== undefined) {
        // A tombstone: swap it for the record, unless someone else just did.
        const swapped = await this.put(objectKey, data, { IfMatch: current.etag });
        if (swapped !== undefined) return swapped;
      }
      // Deleted, or re-created, between our two requests: look again.
      if (round >= maxRounds) throw this.ioError("PutObject (create)", objectKey, new Error(`no stable answer after ${round} rounds`));
    }
  }

  async replace(key: string, data: Uint8Array, version: string): Promise<string | undefined> {
    if (version === tombstoneEtag) return undefined;
    return this.put(this.objectKey(key), data, { IfMatch: version });
  }

  async write(key: string, data: Uint8Array): Promise<string> {
    return (await this.put(this.objectKey(key), data, {}))!;
  }

  async remove(key: string, version?: string): Promise<boolean> {
    const objectKey = this.objectKey(key);
    if (version === undefined) {
      try {
        await this.target.client.send(new DeleteObjectCommand({ Bucket: this.target.bucket, Key: objectKey }));
      } catch (e) {
        throw this.ioError("DeleteObject", objectKey, e);
      }
      return true;
    }
    if (version === tombstoneEtag) return false;
    return (await this.put(objectKey, new Uint8Array(0), { IfMatch: version })) !== undefined;
  }

  async list(prefix: string): Promise<string[]> {
    const { client, bucket } = this.target;
    const listPrefix = this.objectKey(prefix === "" ? "" : `${prefix}/`);
    const keys: string[] = [];
    let token: string | undefined;
    do {
      let page;
      try {
        page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: listPrefix, ContinuationToken: token }));
      } catch (e) {
        throw this.ioError("ListObjectsV2", listPrefix, e);
      }
      for (const object of page.Contents ?? []) {
        const key = object.Key?.slice(this.target.prefix.length);
        // Tombstones are deleted records; probe objects and strays are no records at all.
        if (key !== undefined && (object.Size ?? 0) > 0 && isMetadataKey(key)) keys.push(key);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return keys;
  }

  async close(): Promise<void> {
    this.onClose?.();
  }

  private objectKey(key: string): string {
    return this.target.prefix + key;
  }

  /** A PutObject; with a condition, undefined when the server refused it (412, or 404 for If-Match on a missing key). */
  private async put(objectKey: string, data: Uint8Array, condition: { IfNoneMatch?: string; IfMatch?: string }): Promise<string | undefined> {
    const conditional = condition.IfMatch !== undefined || condition.IfNoneMatch !== undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        const out = await this.target.client.send(
          new PutObjectCommand({ Bucket: this.target.bucket, Key: objectKey, Body: data, ContentLength: data.byteLength, ...condition }),
        );
        const etag = unquoteEtag(out.ETag);
        if (!etag) throw new Error("the server answered without an ETag");
        return etag;
      } catch (e) {
        if (conditional && isPreconditionFailed(e)) return undefined;
        if (condition.IfMatch !== undefined && isNotFound(e)) return undefined;
        // AWS answers 409 when conditional writes of one key race; a later attempt gets 200 or 412.
        // (Ceph RGW 16 answers some losers of an If-Match race with 500; the SDK's own retry of
        // it then gets the 412 the race deserved.)
        if (conditional && isConditionalConflict(e) && attempt < maxRounds) {
          await sleep(retryDelayMs(attempt));
          continue;
        }
        throw this.ioError("PutObject", objectKey, e);
      }
    }
  }

  /** The object's bytes and ETag (a tombstone included), or undefined when there is none. */
  private async getObject(objectKey: string): Promise<StoredObject | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await this.target.client.send(new GetObjectCommand({ Bucket: this.target.bucket, Key: objectKey }));
        const data = await res.Body!.transformToByteArray();
        return { data, etag: unquoteEtag(res.ETag) ?? "" };
      } catch (e) {
        if (isNotFound(e)) return undefined;
        // The SDK retries until headers arrive; a body cut off mid-way is retried here.
        if (isTransient(e) && attempt < 3) {
          await sleep(retryDelayMs(attempt));
          continue;
        }
        throw this.ioError("GetObject", objectKey, e);
      }
    }
  }

  private ioError(operation: string, objectKey: string, cause: unknown): MetadataError {
    const io = s3IoError(operation, this.target.bucket, objectKey, cause);
    return new MetadataError(MetadataErrorCode.Io, io.message, { cause, details: io.details });
  }
}
