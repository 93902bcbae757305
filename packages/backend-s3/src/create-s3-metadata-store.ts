import { S3Client } from "@aws-sdk/client-s3";
import { BackendErrorCode } from "@store/backend";
import { isStoreError } from "@store/errors";
import { MetadataError, MetadataErrorCode, type MetadataStore, createMetadataStore } from "@store/metadata";
import { clientConfigWithDefaults } from "./client-config";
import { probeConditionalWrites } from "./probe-conditional-writes";
import { S3BackendError, S3BackendErrorCode } from "./s3-errors";
import { S3Layout } from "./s3-layout";
import { S3MetadataDriver } from "./s3-metadata-driver";
import type { S3MetadataStoreOptions } from "./s3-metadata-options";

/**
 * A MetadataStore on an S3 bucket, shared by every host that opens the same bucket and prefix.
 * Compare-and-swap is the server's own `If-None-Match: *` / `If-Match` on PutObject, so it is
 * offered only where a probe (or `conditionalWrites`) says the server enforces both: on s3rver,
 * or behind a proxy that drops the headers, conditional writes are refused rather than faked.
 */
export async function createS3MetadataStore(options: S3MetadataStoreOptions): Promise<MetadataStore> {
  const { bucket } = options;
  if (typeof bucket !== "string" || bucket === "") {
    throw new S3BackendError(S3BackendErrorCode.InvalidOptions, "createS3MetadataStore needs a bucket name", { details: { bucket } });
  }
  const { prefix } = new S3Layout(options.prefix);
  const client = options.client ?? new S3Client(clientConfigWithDefaults(options.clientConfig));
  const ownClient = options.client === undefined;
  try {
    const support = options.conditionalWrites ?? (await probeConditionalWrites(client, bucket, { prefix }));
    const driver = new S3MetadataDriver(
      { client, bucket, prefix, conditional: support.ifNoneMatch && support.ifMatch },
      ownClient ? () => client.destroy() : undefined,
    );
    return createMetadataStore(driver, { allowUnconditional: options.allowUnconditional });
  } catch (e) {
    if (ownClient) client.destroy();
    // The probe is shared with the content backend and speaks its codes; a metadata store speaks its own.
    if (isStoreError(e, BackendErrorCode.Io)) throw new MetadataError(MetadataErrorCode.Io, e.message, { cause: e, details: e.details });
    throw e;
  }
}
