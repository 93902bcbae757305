import { join } from "node:path";
import type { S3BackendOptions } from "@store/backend-s3";
import type { StoreBackend } from "@store/backend";
import { createFsBackend } from "@store/backend-fs";
import { ServiceError, ServiceErrorCode } from "./errors";
import type { BackendKind, S3Options } from "./open-options";

/** The imagedb backend of `<imageRoot>/imagedb`, memory, or S3. */
export async function openBackend(kind: BackendKind, imageRoot: string, s3: S3Options | undefined): Promise<StoreBackend> {
  switch (kind) {
    case "fs":
      return createFsBackend({ root: join(imageRoot, "imagedb") });
    // The memory and S3 backends load on demand: the AWS SDK alone took ~70 ms of every
    // command's start (node parsing its CommonJS), for stores that never touch S3.
    case "memory": {
      const { createMemoryBackend } = await import("@store/backend-memory");
      return createMemoryBackend();
    }
    case "s3": {
      if (!s3?.bucket) {
        throw new ServiceError(ServiceErrorCode.S3Bucket, "--backend s3 needs a bucket: --s3-bucket or STORE_S3_BUCKET");
      }
      const { createS3Backend } = await import("@store/backend-s3");
      return createS3Backend({ bucket: s3.bucket, ...(s3.prefix ? { prefix: s3.prefix } : {}), clientConfig: s3ClientConfig(s3) });
    }
  }
}

/** The AWS SDK client settings for a bucket's options (credentials: given, else the SDK's default chain). */
export function s3ClientConfig(s3: S3Options): NonNullable<S3BackendOptions["clientConfig"]> {
  return {
    ...(s3.region ? { region: s3.region } : {}),
    ...(s3.credentials ? { credentials: s3.credentials } : {}),
    // An explicit endpoint is an S3-compatible server (MinIO, Ceph RGW, s3rver…): path-style
    // addressing, and checksums only where required, which they all understand.
    ...(s3.endpoint
      ? {
          endpoint: s3.endpoint,
          forcePathStyle: true,
          requestChecksumCalculation: "WHEN_REQUIRED" as const,
          responseChecksumValidation: "WHEN_REQUIRED" as const,
        }
      : {}),
  };
}
