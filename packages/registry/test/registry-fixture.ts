import { execFileSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { type Digest, digestFromBytes } from "@store/digest";
import { makeTar } from "@store/test-support";

/** An image as bytes: its gzip layer, config and OCI manifest, with their digests. */
export interface TestImage {
  layer: Buffer;
  layerDigest: Digest;
  config: Buffer;
  configDigest: Digest;
  manifest: Buffer;
  manifestDigest: Digest;
}

/** A small image whose layer holds `files` plus `padding` bytes of incompressible data (to make blobs big enough to cut). */
export async function makeImage(files: Record<string, string> = { "hello.txt": "hello\n" }, padding = 0): Promise<TestImage> {
  const all = { ...files };
  if (padding > 0) {
    // Pseudo-random, so gzip cannot shrink it, but reproducible.
    let x = 12345;
    const bytes = Buffer.alloc(padding);
    for (let i = 0; i < padding; i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      bytes[i] = x >> 16;
    }
    all["padding.bin"] = bytes.toString("latin1");
  }
  const tar = await makeTar(all);
  const layer = gzipSync(tar);
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: {},
      rootfs: { type: "layers", diff_ids: [digestFromBytes(tar).toString()] },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: digestFromBytes(config).toString(), size: config.length },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: digestFromBytes(layer).toString(), size: layer.length }],
    }),
  );
  return {
    layer,
    layerDigest: digestFromBytes(layer),
    config,
    configDigest: digestFromBytes(config),
    manifest,
    manifestDigest: digestFromBytes(manifest),
  };
}

/** Writes `image` as an OCI layout in `dir` and copies it to `dest` (`127.0.0.1:PORT/name:tag`) with skopeo. */
export async function skopeoPush(image: TestImage, dir: string, dest: string): Promise<void> {
  const blobs = join(dir, "blobs", "sha256");
  await mkdir(blobs, { recursive: true });
  for (const bytes of [image.layer, image.config, image.manifest]) await writeFile(join(blobs, digestFromBytes(bytes).encoded), bytes);
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await writeFile(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: image.manifestDigest.toString(),
          size: image.manifest.length,
          annotations: { "org.opencontainers.image.ref.name": "t" },
        },
      ],
    }),
  );
  execFileSync("skopeo", ["copy", "--quiet", "--dest-tls-verify=false", `oci:${dir}:t`, `docker://${dest}`], { stdio: "pipe" });
}

/** Reads an async iterable of bytes to the end. */
export async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** `bytes` as a stream of small chunks, as a network or a file would give them. */
export async function* chunked(bytes: Uint8Array, size = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}
