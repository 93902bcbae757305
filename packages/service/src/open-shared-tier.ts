import type { SharedTier } from "@store/shared-tier";
import { s3ClientConfig } from "./open-backend";
import type { S3Options } from "./open-options";

/** A shared tier in an S3 bucket (see {@link openS3SharedTier}). */
export interface SharedS3Options extends S3Options {
  /** This host's name in the tier's leases and records (default: hostname + PID). */
  hostId?: string;
  /** How often other hosts' changes are read (default 250 ms). */
  pollMs?: number;
  /** How long this host's lease lasts without a renewal (default 60 s). */
  leaseTtlMs?: number;
  /** Told of failed polls and renewals (the tier keeps trying). */
  onError?: (error: unknown) => void;
}

/**
 * Opens the shared tier in a bucket: content under `<prefix>blobs/`, records (references,
 * leases, claims, collections) under `<prefix>meta/`. Whether the server honours conditional
 * writes is probed once: references then change by compare-and-swap (Ceph RGW, AWS S3) or, where
 * conditions are ignored (s3rver), as uniquely named records resolved by order. Credentials come
 * from `credentials` or the SDK's default chain.
 */
export async function openS3SharedTier(options: SharedS3Options): Promise<SharedTier> {
  const { createS3Backend, createS3MetadataStore } = await import("@store/backend-s3");
  const { openSharedTier } = await import("@store/shared-tier");
  const prefix = options.prefix ? (options.prefix.endsWith("/") ? options.prefix : `${options.prefix}/`) : "";
  const clientConfig = s3ClientConfig(options);
  const blobs = await createS3Backend({ bucket: options.bucket, prefix: `${prefix}blobs/`, clientConfig });
  try {
    // allowUnconditional: the probe decides; where the server ignores conditions the tier names
    // every record uniquely instead of relying on them, and only this host writes its lease.
    const metadata = await createS3MetadataStore({ bucket: options.bucket, prefix: `${prefix}meta/`, clientConfig, allowUnconditional: true });
    return await openSharedTier({
      blobs,
      metadata,
      ...(options.hostId ? { hostId: options.hostId } : {}),
      ...(options.pollMs ? { pollMs: options.pollMs } : {}),
      ...(options.leaseTtlMs ? { leaseTtlMs: options.leaseTtlMs } : {}),
      ...(options.onError ? { onError: options.onError } : {}),
    });
  } catch (e) {
    await blobs.close().catch(() => undefined);
    throw e;
  }
}
