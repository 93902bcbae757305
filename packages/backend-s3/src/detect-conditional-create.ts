import type { S3Client } from "@aws-sdk/client-s3";
import { probeConditionalWrites } from "./probe-conditional-writes";
import { S3Layout } from "./s3-layout";

/**
 * Whether the server enforces `If-None-Match: *` on PUT, as {@link probeConditionalWrites} finds
 * by racing creates of one probe object under `<prefix>tmp/` (deleted afterwards). AWS S3 (since
 * 2024), MinIO, R2 and Ceph RGW enforce it; s3rver ignores the header; a server that rejects the
 * header outright (501, 400) counts as not honouring it.
 *
 * A failure of the writes themselves (no such bucket, access denied) is thrown as ERR_BACKEND_IO,
 * so a misconfigured backend fails when it is created rather than on first use.
 */
export async function detectConditionalCreate(client: S3Client, bucket: string, prefix = ""): Promise<boolean> {
  const keyBase = new S3Layout(prefix).tmpKey("probe");
  return (await probeConditionalWrites(client, bucket, { keyBase, ifMatch: false })).ifNoneMatch;
}
