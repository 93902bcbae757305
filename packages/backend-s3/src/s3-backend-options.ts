import type { S3Client, S3ClientConfig } from "@aws-sdk/client-s3";

/** Where and how {@link createS3Backend} stores content. */
export interface S3BackendOptions {
  /** The bucket; it must exist. */
  bucket: string;
  /**
   * A key prefix for this store ("images/host-a"); a trailing "/" is added. Several stores can
   * share a bucket under different prefixes.
   */
  prefix?: string;
  /**
   * A client to use as is (the caller configures and destroys it). Without one, the backend
   * builds its own from `clientConfig` and destroys it on close().
   */
  client?: S3Client;
  /**
   * Settings for the backend's own client: `region`, `endpoint`, `forcePathStyle`,
   * `credentials` (the SDK's default provider chain when absent)… Retries (5 attempts,
   * standard mode) and timeouts have defaults here; anything given wins.
   */
  clientConfig?: S3ClientConfig;
  /**
   * Whether the server enforces `If-None-Match: *`, used to create content only once. When
   * omitted it is detected at creation with a probe object under `<prefix>tmp/` (which needs
   * write access); pass false for read-only use or to skip the probe. Correctness never
   * depends on it: content is named by its digest, so an overwrite writes the same bytes.
   */
  conditionalCreate?: boolean;
  /** Multipart part size in bytes (default 8 MiB, at least 5 MiB as S3 requires). */
  partSize?: number;
  /** Parts of one upload in flight at once (default 4). Memory per upload ≈ (queueSize + 1) × partSize. */
  queueSize?: number;
  /** Attempts at reading one object body when connections drop mid-transfer (default 5). */
  readAttempts?: number;
}
