import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { makeTar } from "./make-tar";

/** One blob of a test image: its bytes and what a descriptor says of them. */
export interface TestBlob {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Buffer;
}

/** An image made for registry tests: its config, layer blobs and schema2 (or OCI) manifest. */
export interface TestImage {
  config: TestBlob;
  layers: TestBlob[];
  /** Each layer's uncompressed digest, as the config lists them. */
  diffIds: string[];
  manifest: TestBlob;
}

const sha256 = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
const blob = (mediaType: string, bytes: Buffer): TestBlob => ({ mediaType, digest: sha256(bytes), size: bytes.byteLength, bytes });

/**
 * An image of `layers` (each a file map, as {@link makeTar} takes), gzip layers in a Docker
 * schema2 manifest by default, or `oci: true` for OCI media types. Written without the code
 * under test, so a pull test compares against an independent truth.
 */
export async function buildTestImage(
  layers: Record<string, string>[],
  options: { oci?: boolean; architecture?: string; variant?: string; os?: string; compress?: boolean } = {},
): Promise<TestImage> {
  const oci = options.oci ?? false;
  const compress = options.compress ?? true;
  const tars = await Promise.all(layers.map((files) => makeTar(files)));
  const diffIds = tars.map(sha256);
  const layerType = oci
    ? compress
      ? "application/vnd.oci.image.layer.v1.tar+gzip"
      : "application/vnd.oci.image.layer.v1.tar"
    : "application/vnd.docker.image.rootfs.diff.tar.gzip";
  const layerBlobs = tars.map((tar) => blob(layerType, compress ? gzipSync(tar) : tar));
  const config = blob(
    oci ? "application/vnd.oci.image.config.v1+json" : "application/vnd.docker.container.image.v1+json",
    Buffer.from(
      JSON.stringify({
        architecture: options.architecture ?? "amd64",
        ...(options.variant ? { variant: options.variant } : {}),
        os: options.os ?? "linux",
        config: { Env: ["PATH=/bin"], Cmd: ["sh"] },
        created: "2026-01-02T03:04:05Z",
        history: layers.map((_, i) => ({ created: "2026-01-02T03:04:05Z", created_by: `layer ${i}` })),
        rootfs: { type: "layers", diff_ids: diffIds },
      }),
    ),
  );
  const manifestType = oci ? "application/vnd.oci.image.manifest.v1+json" : "application/vnd.docker.distribution.manifest.v2+json";
  const describe = (b: TestBlob) => ({ mediaType: b.mediaType, digest: b.digest, size: b.size });
  const manifest = blob(
    manifestType,
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: manifestType, config: describe(config), layers: layerBlobs.map(describe) }, null, 3)),
  );
  return { config, layers: layerBlobs, diffIds, manifest };
}

/** An index (OCI) or manifest list (Docker) of `entries`, each a manifest with its platform. */
export function buildTestIndex(entries: { manifest: TestBlob; platform?: Record<string, unknown> }[], options: { oci?: boolean } = {}): TestBlob {
  const mediaType = options.oci ? "application/vnd.oci.image.index.v1+json" : "application/vnd.docker.distribution.manifest.list.v2+json";
  const manifests = entries.map(({ manifest, platform }) => ({
    mediaType: manifest.mediaType,
    digest: manifest.digest,
    size: manifest.size,
    ...(platform ? { platform } : {}),
  }));
  return blob(mediaType, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, manifests }, null, 3)));
}

async function check(response: Response, what: string): Promise<Response> {
  if (!response.ok) throw new Error(`${what}: ${response.status} ${await response.text()}`);
  return response;
}

/** Uploads a blob to `http://<host>/v2/<repo>` (POST, then a monolithic PUT), as a registry test's setup. */
export async function uploadTestBlob(host: string, repo: string, b: TestBlob): Promise<void> {
  const start = await check(await fetch(`http://${host}/v2/${repo}/blobs/uploads/`, { method: "POST" }), `upload ${b.digest}`);
  const location = new URL(start.headers.get("location")!, `http://${host}`);
  location.searchParams.set("digest", b.digest);
  await check(
    await fetch(location, { method: "PUT", body: b.bytes, headers: { "content-type": "application/octet-stream", "content-length": String(b.size) } }),
    `put ${b.digest}`,
  );
}

/** Uploads a manifest (or index) under `reference` (a tag or its digest). */
export async function uploadTestManifest(host: string, repo: string, reference: string, manifest: TestBlob): Promise<void> {
  await check(
    await fetch(`http://${host}/v2/${repo}/manifests/${reference}`, { method: "PUT", body: manifest.bytes, headers: { "content-type": manifest.mediaType } }),
    `put manifest ${reference}`,
  );
}

/** Uploads every blob of `image` and its manifest under `tag`. */
export async function uploadTestImage(host: string, repo: string, tag: string, image: TestImage): Promise<void> {
  for (const b of [image.config, ...image.layers]) await uploadTestBlob(host, repo, b);
  await uploadTestManifest(host, repo, tag, image.manifest);
}
