import { S3Client } from "@aws-sdk/client-s3";
import { type StoreBackend, createBackend } from "@store/backend";
import { clientConfigWithDefaults } from "./client-config";
import { detectConditionalCreate } from "./detect-conditional-create";
import type { S3BackendOptions } from "./s3-backend-options";
import { S3Driver } from "./s3-driver";
import { S3BackendError, S3BackendErrorCode } from "./s3-errors";
import { S3Layout } from "./s3-layout";

const MiB = 1024 * 1024;
/** S3's smallest part (all but the last). */
const minPartSize = 5 * MiB;

/**
 * A StoreBackend on an S3 bucket (AWS, MinIO, R2, Ceph…), safe to share between hosts: content is
 * immutable and named by its digest — configs, layer blobs of any size (multipart), manifests —
 * written once, published atomically and verified on every read. Async because, unless
 * `conditionalCreate` is given, it probes the server (which also checks the bucket is reachable
 * and writable).
 */
export async function createS3Backend(options: S3BackendOptions): Promise<StoreBackend> {
  return createBackend(await createS3Driver(options));
}

/**
 * The driver under {@link createS3Backend}, options checked and the server probed the same way.
 * Not exported from the package: tests take it to keep raw access beside the backend.
 */
export async function createS3Driver(options: S3BackendOptions): Promise<S3Driver> {
  const { bucket } = options;
  if (typeof bucket !== "string" || bucket === "") {
    throw new S3BackendError(S3BackendErrorCode.InvalidOptions, "createS3Backend needs a bucket name", { details: { bucket } });
  }
  const layout = new S3Layout(options.prefix);
  const partSize = options.partSize ?? 8 * MiB;
  if (!Number.isSafeInteger(partSize) || partSize < minPartSize) {
    throw new S3BackendError(S3BackendErrorCode.InvalidOptions, `invalid partSize ${partSize}: S3 parts are at least ${minPartSize} bytes`, {
      details: { partSize },
    });
  }
  const queueSize = positive("queueSize", options.queueSize ?? 4);
  const readAttempts = positive("readAttempts", options.readAttempts ?? 5);

  const client = options.client ?? new S3Client(clientConfigWithDefaults(options.clientConfig));
  const ownClient = options.client === undefined;
  try {
    const conditionalCreate = options.conditionalCreate ?? (await detectConditionalCreate(client, bucket, layout.prefix));
    return new S3Driver({ client, bucket, layout, conditionalCreate, partSize, queueSize, readAttempts }, ownClient ? () => client.destroy() : undefined);
  } catch (e) {
    if (ownClient) client.destroy();
    throw e;
  }
}

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new S3BackendError(S3BackendErrorCode.InvalidOptions, `invalid ${name} ${value}: expected a positive integer`, { details: { [name]: value } });
  }
  return value;
}
