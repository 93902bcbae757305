import type { S3Client, S3ClientConfig } from "@aws-sdk/client-s3";
import type { ConditionalWriteSupport } from "./probe-conditional-writes";

/** Where and how {@link createS3MetadataStore} keeps records. */
export interface S3MetadataStoreOptions {
  /** The bucket; it must exist. */
  bucket: string;
  /** A key prefix for this store ("meta/host-a"); a trailing "/" is added. Keep it apart from a content backend's. */
  prefix?: string;
  /** A client to use as is (the caller configures and destroys it). Without one, the store builds its own from `clientConfig`. */
  client?: S3Client;
  /** Settings for the store's own client (`region`, `endpoint`, `forcePathStyle`, `credentials`…). */
  clientConfig?: S3ClientConfig;
  /**
   * What the server enforces. When omitted it is probed at creation by racing conditional PUTs
   * on two objects under the prefix (which needs write access; they are deleted). Compare-and-swap
   * is honoured only when both are true.
   */
  conditionalWrites?: ConditionalWriteSupport;
  /**
   * On a server that does not enforce conditional PUTs, do conditional writes as read-check-write
   * anyway (racy; `capabilities.conditional` stays false). Refused with ERR_METADATA_UNSUPPORTED otherwise.
   */
  allowUnconditional?: boolean;
}
