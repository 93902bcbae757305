import { DeleteObjectCommand, ListObjectsV2Command, type ListObjectsV2CommandOutput } from "@aws-sdk/client-s3";
import type { BackendCapabilities, BackendDriver, ListOptions, ObjectStat, StageHint, StagedWrite, WriteOptions } from "@store/backend";
import { createOnlyMode } from "./create-only-mode";
import { openObjectStream, readObject } from "./object-reads";
import { objectHead, putObject } from "./object-writes";
import { s3IoError } from "./s3-errors";
import type { S3Target } from "./s3-target";
import { stageUpload } from "./stage-upload";

/**
 * The S3 primitives under {@link createBackend}: one object per key under the prefix, listing by
 * ListObjectsV2 with delimiter "/", staging by multipart upload. Create-only writes (every
 * content write) send `If-None-Match: *` where the server honours it, and look first where it
 * does not. Every failure that survives the retries is an ERR_BACKEND_IO naming `s3://bucket/key`.
 */
export class S3Driver implements BackendDriver {
  readonly name = "s3";
  readonly capabilities: Partial<BackendCapabilities>;

  constructor(
    readonly target: S3Target,
    private readonly onClose?: () => void,
  ) {
    this.capabilities = { persistent: true, shared: true, conditionalCreate: target.conditionalCreate };
  }

  read(key: string): Promise<Uint8Array | undefined> {
    return readObject(this.target, this.target.layout.objectKey(key));
  }

  readStream(key: string): Promise<AsyncIterable<Uint8Array> | undefined> {
    return openObjectStream(this.target, this.target.layout.objectKey(key));
  }

  async stat(key: string): Promise<ObjectStat | undefined> {
    return objectHead(this.target, this.target.layout.objectKey(key));
  }

  async write(key: string, data: Uint8Array, options?: WriteOptions): Promise<boolean> {
    const t = this.target;
    if (data.byteLength <= t.partSize) {
      const objectKey = t.layout.objectKey(key);
      const mode = await createOnlyMode(t, objectKey, options);
      if (mode === "exists") return false;
      return putObject(t, objectKey, data, mode === "server");
    }
    // Large content goes up in parts: faster on real S3, and a retry resends one part, not all.
    const staged = await stageUpload(t, slices(data, 1024 * 1024), { key, size: data.byteLength });
    try {
      return await staged.commit(key, options);
    } catch (e) {
      await staged.abort();
      throw e;
    }
  }

  stage(source: AsyncIterable<Uint8Array>, hint?: StageHint): Promise<StagedWrite> {
    return stageUpload(this.target, source, hint);
  }

  remove(key: string): Promise<void> {
    return this.deleteObject(this.target.layout.objectKey(key));
  }

  private async deleteObject(objectKey: string): Promise<void> {
    const { client, bucket } = this.target;
    try {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: objectKey }));
    } catch (e) {
      throw s3IoError("DeleteObject", bucket, objectKey, e);
    }
  }

  /**
   * Deletes key by key, in turn. A prefix here is one content's metadata: a handful of keys, so
   * DeleteObjects would save little, and it is the call S3-compatible servers support least well
   * (some want Content-MD5, GCS lacks it, s3rver's parallel deletes in one directory race).
   */
  async removePrefix(prefix: string): Promise<void> {
    const listPrefix = `${this.target.layout.objectKey(prefix)}/`;
    // Collect first, then delete: deleting under a live listing cursor is not something every
    // S3-compatible server handles the same way.
    const keys: string[] = [];
    for await (const page of this.pages(listPrefix, undefined)) {
      for (const o of page.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key);
    }
    for (const key of keys) await this.deleteObject(key);
  }

  async *list(prefix: string, options?: ListOptions): AsyncIterable<string> {
    const listPrefix = `${this.target.layout.objectKey(prefix)}/`;
    // A hex prefix narrows the listing on the server: a short-ID lookup reads one page, not all.
    for await (const page of this.pages(listPrefix + (options?.startsWith ?? ""), "/")) {
      for (const p of page.CommonPrefixes ?? []) {
        const name = p.Prefix?.slice(listPrefix.length, -1);
        if (name) yield name;
      }
      // An empty name is a "folder" marker object some tools create (`prefix/`): not a child.
      for (const o of page.Contents ?? []) {
        const name = o.Key?.slice(listPrefix.length);
        if (name) yield name;
      }
    }
  }

  /** ListObjectsV2, page by page (1,000 keys each on AWS). */
  private async *pages(listPrefix: string, delimiter: string | undefined): AsyncGenerator<ListObjectsV2CommandOutput> {
    const { client, bucket } = this.target;
    let token: string | undefined;
    do {
      let page: ListObjectsV2CommandOutput;
      try {
        page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: listPrefix, Delimiter: delimiter, ContinuationToken: token }));
      } catch (e) {
        throw s3IoError("ListObjectsV2", bucket, listPrefix, e);
      }
      yield page;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async close(): Promise<void> {
    this.onClose?.();
  }
}

function* slices(data: Uint8Array, size: number): Generator<Uint8Array> {
  for (let i = 0; i < data.byteLength; i += size) yield data.subarray(i, i + size);
}
