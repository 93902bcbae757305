import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { deleteQuietly } from "./object-writes";
import { httpStatus, isPreconditionFailed, s3IoError } from "./s3-errors";
import { S3Layout } from "./s3-layout";

/**
 * Whether the server enforces `If-None-Match: *` on PUT: writes a probe object under
 * `<prefix>tmp/` twice and sees whether the second is refused with 412. AWS S3 (since 2024),
 * MinIO and R2 refuse it; s3rver and older Ceph ignore the header; a server that rejects the
 * header outright (501, 400) counts as not honouring it. The probe is deleted.
 *
 * A failure of the first write (no such bucket, access denied) is thrown as ERR_BACKEND_IO, so
 * a misconfigured backend fails when it is created rather than on first use.
 */
export async function detectConditionalCreate(client: S3Client, bucket: string, prefix = ""): Promise<boolean> {
  const layout = new S3Layout(prefix);
  const key = layout.tmpKey("probe");
  const put = () => client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: new Uint8Array([1]), IfNoneMatch: "*" }));
  try {
    try {
      await put();
    } catch (e) {
      const status = httpStatus(e);
      if (status === 501 || status === 400) return false;
      throw s3IoError("PutObject (conditional-create probe)", bucket, key, e);
    }
    try {
      await put();
      return false;
    } catch (e) {
      if (isPreconditionFailed(e)) return true;
      const status = httpStatus(e);
      if (status === 501 || status === 400) return false;
      throw s3IoError("PutObject (conditional-create probe)", bucket, key, e);
    }
  } finally {
    await deleteQuietly({ client, bucket }, key);
  }
}
