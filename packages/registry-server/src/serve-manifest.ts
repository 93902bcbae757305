import type { IncomingMessage, ServerResponse } from "node:http";
import { BackendErrorCode } from "@store/backend";
import { type Digest, toDigest } from "@store/digest";
import { isStoreError } from "@store/errors";
import { digestHeaders, notModified } from "./content-headers";
import { manifestMediaType } from "./manifest-media-type";
import { ProtocolError } from "./protocol-error";
import type { RegistryContent, RequestScope } from "./registry-content";
import { isDigestReference, pathDigest, pathTag } from "./request-parts";
import { sendBytes } from "./send-body";
import { visible } from "./visible";

/** What serving a manifest needs beyond the request. */
export interface ManifestServing {
  content: RegistryContent;
  scope: RequestScope;
  /** Larger content is not a manifest: it is never read into memory to find out. */
  maxManifestBytes: number;
}

/**
 * `HEAD`/`GET /v2/<name>/manifests/<tag|digest>`: the exact stored bytes, with the media type as
 * `Content-Type`, `Docker-Content-Digest`, `Content-Length` and `ETag`. A tag is resolved by the
 * content; a digest must be one the repository may see. Content that is not a manifest (a
 * config or a layer asked for under `/manifests/`) is an unknown manifest, as in a registry.
 */
export async function serveManifest(req: IncomingMessage, res: ServerResponse, name: string, reference: string, serving: ManifestServing): Promise<void> {
  const { content, scope } = serving;
  let digest: Digest;
  let mediaType: string | undefined;
  const unknown = () => new ProtocolError("MANIFEST_UNKNOWN", { detail: isDigestReference(reference) ? { digest: reference } : { tag: reference } });
  if (isDigestReference(reference)) {
    digest = pathDigest(reference);
    if (!(await visible(content, name, digest, scope))) throw unknown();
  } else {
    const tag = pathTag(name, reference);
    const target = await content.resolveTag(name, tag, scope);
    if (target === undefined) throw unknown();
    digest = toDigest(target.digest);
    mediaType = target.mediaType;
  }
  let size: number;
  let bytes: Uint8Array | undefined;
  if (req.method === "HEAD" && mediaType !== undefined) {
    // All a HEAD by tag needs is the size: no read of the content.
    const info = await content.blobs.info(digest);
    if (info === undefined) throw unknown();
    size = info.size;
  } else {
    bytes = await readManifest(content, digest, serving.maxManifestBytes);
    if (bytes === undefined) throw unknown();
    size = bytes.byteLength;
    mediaType ??= manifestMediaType(bytes);
    if (mediaType === undefined) throw unknown();
  }
  const headers = { "Content-Type": mediaType, ...digestHeaders(digest) };
  if (notModified(req, digest)) {
    res.writeHead(304, headers).end();
    return;
  }
  if (req.method === "HEAD") {
    res.writeHead(200, { ...headers, "Content-Length": String(size) }).end();
    return;
  }
  sendBytes(res, 200, headers, bytes!);
}

/**
 * The content's bytes, verified, when it exists and is at most `max` bytes; undefined otherwise.
 * One streamed read (on S3, one GET, not a HEAD for the size and then a GET), given up as soon as
 * it passes `max`: a layer asked for as a manifest is never read whole into memory.
 */
async function readManifest(content: RegistryContent, digest: Digest, max: number): Promise<Uint8Array | undefined> {
  let source: AsyncIterable<Uint8Array>;
  try {
    source = await content.blobs.getStream(digest);
  } catch (e) {
    if (isStoreError(e, BackendErrorCode.NotFound)) return undefined;
    throw e;
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of source) {
    size += chunk.byteLength;
    if (size > max) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}
