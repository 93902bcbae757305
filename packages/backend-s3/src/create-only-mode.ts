import type { WriteOptions } from "@store/backend";
import { objectSize } from "./object-writes";
import type { S3Target } from "./s3-target";

/**
 * How a create-only write is enforced: by the server (`If-None-Match: *`) where it honours the
 * header; elsewhere by a HEAD first, so "exists" is answered without sending the bytes again.
 * Resolves to "server" (send the header), "plain" (write without it) or "exists" (do not write).
 */
export async function createOnlyMode(t: S3Target, objectKey: string, options: WriteOptions | undefined): Promise<"plain" | "server" | "exists"> {
  if (!options?.ifAbsent) return "plain";
  if (t.conditionalCreate) return "server";
  return (await objectSize(t, objectKey)) === undefined ? "plain" : "exists";
}
