import type { IncomingMessage, ServerResponse } from "node:http";
import { BackendErrorCode } from "@store/backend";
import { isStoreError } from "@store/errors";
import { parseByteRange } from "./byte-range";
import { digestHeaders, notModified } from "./content-headers";
import { ProtocolError } from "./protocol-error";
import type { RegistryContent, RequestScope } from "./registry-content";
import { pathDigest } from "./request-parts";
import { sendStream } from "./send-body";
import { verifiedSlice } from "./verified-slice";
import { visible } from "./visible";

/**
 * `HEAD`/`GET /v2/<name>/blobs/<digest>`: the content's bytes, verified as they stream (see
 * {@link verifiedSlice}), with `Range` as Go's ServeContent answers it (206 and `Content-Range`;
 * 416 and `Content-Range: bytes *\/<size>` when unsatisfiable).
 */
export async function serveBlob(
  req: IncomingMessage,
  res: ServerResponse,
  name: string,
  reference: string,
  content: RegistryContent,
  scope: RequestScope,
): Promise<void> {
  const digest = pathDigest(reference);
  const unknown = () => new ProtocolError("BLOB_UNKNOWN", { detail: { digest: digest.toString() } });
  if (!(await visible(content, name, digest, scope))) throw unknown();
  const info = await content.blobs.info(digest);
  if (info === undefined) throw unknown();
  const headers: Record<string, string> = {
    "Content-Type": "application/octet-stream",
    "Accept-Ranges": "bytes",
    // Content by digest never changes (distribution sends the same).
    "Cache-Control": "max-age=31536000",
    ...digestHeaders(digest),
  };
  if (notModified(req, digest)) {
    res.writeHead(304, headers).end();
    return;
  }
  const range = parseByteRange(req.headers.range, info.size);
  if (range === "unsatisfiable") {
    throw new ProtocolError("RANGE_INVALID", { detail: { range: req.headers.range, size: info.size }, headers: { "Content-Range": `bytes */${info.size}` } });
  }
  const status = range === undefined ? 200 : 206;
  const length = range === undefined ? info.size : range.end - range.start + 1;
  if (range !== undefined) headers["Content-Range"] = `bytes ${range.start}-${range.end}/${info.size}`;
  headers["Content-Length"] = String(length);
  if (req.method === "HEAD") {
    res.writeHead(status, headers).end();
    return;
  }
  let source: AsyncIterable<Uint8Array>;
  try {
    source = await content.blobs.getStream(digest);
  } catch (e) {
    if (isStoreError(e, BackendErrorCode.NotFound)) throw unknown();
    throw e;
  }
  res.writeHead(status, headers);
  // Headers now, not with the first chunk: a short range is held back until the whole blob
  // verified, and the client should not wait in silence meanwhile.
  res.flushHeaders();
  await sendStream(res, verifiedSlice(source, range));
}
