import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Digest, digestFromBytes } from "@store/digest";
import { isStoreError } from "@store/errors";
import type { ProgressDetail, ProgressEvent } from "@store/internal";
import { hasRoot } from "@store/test-peers";
import { loadArchive } from "../src/index";
import { chunked, tempStores, type TempStores } from "./helpers";
import { archive, type ArchiveFile, dockerArchiveFiles, layerTar, syntheticImage, type SyntheticImage } from "./synthetic";

/** Every path under the root, directories included: what "the root exactly as it was" compares. */
async function tree(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string): Promise<void> {
    for (const d of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const path = join(dir, d.name);
      out.push(relative(root, path) + (d.isDirectory() ? "/" : ""));
      if (d.isDirectory()) await walk(path);
    }
  }
  await walk(root);
  // Empty temp dirs a load (or the first register) makes and leaves, as dockerd leaves its own.
  return out.filter((p) => !["tmp/", "image/overlay2/layerdb/tmp/", "overlay2/l/"].includes(p)).sort();
}

/** Layer content that does not compress away: over 1 MiB as gzip or zstd, so it streams (staged or registered at once). */
const bigLayer = (name: string) => layerTar({ [`${name}/data.b64`]: randomBytes(1_200_000).toString("base64"), [`${name}/id`]: name });

const zstd = (bytes: Buffer) => execFileSync("zstd", ["-q", "-c"], { input: bytes, maxBuffer: 64 << 20 });

const descriptorJson = (d: { digest: Digest; size: number }) => ({ digest: d.digest.toString(), size: d.size });

/** An OCI image layout for `image`, its layers stored as `blobs` (compressed or not), with descriptors as given. */
function ociLayoutFiles(
  image: SyntheticImage,
  blobs: Buffer[],
  options: { mediaType: string; descriptor?: (i: number, blob: Buffer) => { digest: Digest; size: number }; metadataFirst?: boolean },
): ArchiveFile[] {
  const layers = blobs.map((blob, i) => ({
    mediaType: options.mediaType,
    ...descriptorJson(options.descriptor?.(i, blob) ?? { digest: digestFromBytes(blob), size: blob.length }),
  }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: image.id.toString(), size: image.config.length },
      layers,
    }),
  );
  const manifestDigest = digestFromBytes(manifest);
  const index = JSON.stringify({
    schemaVersion: 2,
    manifests: [
      {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: manifestDigest.toString(),
        size: manifest.length,
        annotations: { "io.containerd.image.name": "docker.io/library/verify:oci" },
      },
    ],
  });
  const metadata: ArchiveFile[] = [
    { name: "oci-layout", body: '{"imageLayoutVersion": "1.0.0"}' },
    { name: "index.json", body: index },
    { name: `blobs/sha256/${manifestDigest.encoded}`, body: manifest },
    { name: `blobs/sha256/${image.id.encoded}`, body: image.config },
  ];
  // A blob is stored under the digest its descriptor names, as an OCI layout does.
  const layerFiles = blobs.map((body, i) => ({ name: `blobs/sha256/${(layers[i]!.digest as string).slice("sha256:".length)}`, body }));
  return options.metadataFirst ? [...metadata, ...layerFiles] : [...layerFiles, ...metadata];
}

describe.skipIf(!hasRoot())("load verifies every layer before it is committed", () => {
  let stores: TempStores;
  let base: Buffer;
  let top: Buffer;

  beforeAll(async () => {
    stores = await tempStores();
    base = await bigLayer("base");
    top = await bigLayer("top");
    // Something in the root beforehand, so "as it was" is more than "empty".
    const other = syntheticImage([await layerTar({ "other/file": "x" })], { comment: "pre-existing" });
    await loadArchive(chunked(await archive(dockerArchiveFiles([{ image: other, tags: ["keep:me"] }]))), stores);
  });

  afterAll(async () => {
    await stores?.cleanup();
  });

  /** Loads `bytes`, which must be refused with `code` and a message matching each of `mentions`, and checks the root did not change. */
  async function refused(bytes: Buffer, code: string, ...mentions: RegExp[]): Promise<void> {
    const before = await tree(stores.root);
    const error = await loadArchive(chunked(bytes, 100_000), stores).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isStoreError(error, code), String(error)).toBe(true);
    for (const m of mentions) expect((error as Error).message).toMatch(m);
    expect(await tree(stores.root)).toEqual(before);
    expect([...stores.layers.map().keys()].length).toBe(1); // only the pre-existing image's layer
    expect(stores.images.ids().length).toBe(1);
  }

  it("a layer that does not match its config's diff_id: the root exactly as it was, the layer named", async () => {
    const lying = syntheticImage([base, top], { diffIds: [digestFromBytes(base), digestFromBytes(Buffer.from("not the top layer"))] });
    const files = dockerArchiveFiles([{ image: lying, tags: ["verify:diffid"] }]);
    const topPath = files[1]!.name;
    const mentions = [/invalid diffID/, new RegExp(topPath), new RegExp(digestFromBytes(top).encoded)];
    // Classic order (layers, then config, then manifest): the layers are extracted, then refused at commit.
    await refused(await archive(files), "ERR_ARCHIVE_LAYER_MISMATCH", ...mentions);
    // Manifest and config first: each layer is checked as it streams, before it is committed.
    const manifest = files.find((f) => f.name === "manifest.json")!;
    const config = files.find((f) => f.name.endsWith(".json") && f !== manifest)!;
    const metadataFirst = [manifest, config, ...files.filter((f) => f !== manifest && f !== config)];
    await refused(await archive(metadataFirst), "ERR_ARCHIVE_LAYER_MISMATCH", ...mentions);
    // Small layers (kept in memory, registered once the plan is made) are refused the same way.
    const small = syntheticImage([await layerTar({ a: "a" }), await layerTar({ b: "b" })], {
      diffIds: [digestFromBytes(Buffer.from("nope")), digestFromBytes(Buffer.from("no"))],
    });
    await refused(await archive(dockerArchiveFiles([{ image: small, tags: ["verify:small"] }])), "ERR_ARCHIVE_LAYER_MISMATCH", /invalid diffID/, /layer 0/);
  });

  for (const [compression, compress, mediaType] of [
    ["gzip", (b: Buffer) => gzipSync(b), "application/vnd.oci.image.layer.v1.tar+gzip"],
    ["zstd", zstd, "application/vnd.oci.image.layer.v1.tar+zstd"],
  ] as const) {
    it(`a ${compression} layer blob with a wrong digest or size: refused, the root exactly as it was`, async () => {
      const image = syntheticImage([base, top], { comment: `verify ${compression}` });
      const blobs = [compress(base), compress(top)];
      for (const metadataFirst of [true, false]) {
        // The control: the same layout with true descriptors loads.
        const good = ociLayoutFiles(image, blobs, { mediaType, metadataFirst });
        const fresh = await tempStores();
        try {
          await loadArchive(chunked(await archive(good), 100_000), fresh);
          expect((await fresh.images.get(image.id)).chainId?.toString()).toBe(image.chainId.toString());
        } finally {
          await fresh.cleanup();
        }
        const wrongDigest = digestFromBytes(Buffer.from(`not the ${compression} blob`));
        await refused(
          await archive(
            ociLayoutFiles(image, blobs, {
              mediaType,
              metadataFirst,
              descriptor: (i, blob) => ({ digest: i === 1 ? wrongDigest : digestFromBytes(blob), size: blob.length }),
            }),
          ),
          "ERR_ARCHIVE_LAYER_MISMATCH",
          /layer 1|blobs\/sha256/,
          new RegExp(wrongDigest.encoded),
          new RegExp(digestFromBytes(blobs[1]!).encoded),
        );
        for (const delta of [-1, 1]) {
          await refused(
            await archive(
              ociLayoutFiles(image, blobs, {
                mediaType,
                metadataFirst,
                descriptor: (i, blob) => ({ digest: digestFromBytes(blob), size: blob.length + (i === 0 ? delta : 0) }),
              }),
            ),
            "ERR_ARCHIVE_LAYER_MISMATCH",
            new RegExp(`${blobs[0]!.length + delta} bytes`),
          );
        }
      }
    });
  }

  it("an uncompressed layer blob registered as it streams (its config came first) is refused when its descriptor's size is wrong", async () => {
    const image = syntheticImage([base, top], { comment: "verify size, config first" });
    for (const delta of [-1, 1]) {
      const files = ociLayoutFiles(image, [base, top], {
        mediaType: "application/vnd.oci.image.layer.v1.tar",
        descriptor: (i, blob) => ({ digest: digestFromBytes(blob), size: blob.length + (i === 0 ? delta : 0) }),
      });
      // Docker 25+ names a layer blob by its diff ID: with the config read first, each layer is
      // registered as it streams, before the manifest gives its descriptor's size.
      const config = files.find((f) => f.name === `blobs/sha256/${image.id.encoded}`)!;
      await refused(await archive([config, ...files.filter((f) => f !== config)]), "ERR_ARCHIVE_LAYER_MISMATCH", new RegExp(`${base.length + delta} bytes`));
    }
  });

  it("a blob named by its layer's diff ID that holds the gzip of that tar is refused: its bytes do not match its name (#15)", async () => {
    const image = syntheticImage([base, top], { comment: "gzip under a diff ID" });
    const blobs = [gzipSync(base), gzipSync(top)];
    for (const metadataFirst of [true, false]) {
      const files = ociLayoutFiles(image, blobs, {
        // The descriptor claims an uncompressed layer whose digest is the diff ID, with the stored bytes' size.
        mediaType: "application/vnd.oci.image.layer.v1.tar",
        metadataFirst,
        descriptor: (i, blob) => ({ digest: image.diffIds[i]!, size: blob.length }),
      });
      await refused(await archive(files), "ERR_ARCHIVE_LAYER_MISMATCH", new RegExp(digestFromBytes(blobs[0]!).encoded));
    }
  });

  it("an AbortSignal mid-layer leaves nothing", async () => {
    const image = syntheticImage([base, top], { comment: "aborted" });
    for (const gzip of [false, true]) {
      const bytes = await archive(dockerArchiveFiles([{ image, tags: ["verify:abort"] }]), { gzip });
      const before = await tree(stores.root);
      const controller = new AbortController();
      // Aborted in the middle of the second layer file.
      const cut = Math.floor((gzip ? bytes.length : base.length + top.length / 2) * 0.75);
      const source = (async function* () {
        let sent = 0;
        for await (const chunk of chunked(bytes, 50_000)) {
          if (sent >= cut) controller.abort();
          sent += chunk.length;
          yield chunk;
        }
      })();
      let last: ProgressDetail | undefined;
      const onProgress = (p: ProgressEvent) => {
        if (!controller.signal.aborted) last = p.progressDetail;
      };
      await expect(loadArchive(source, stores, { signal: controller.signal, onProgress })).rejects.toMatchObject({ name: "AbortError" });
      // It was stopped inside a layer file, not between them.
      expect(last!.current).toBeGreaterThan(0);
      expect(last!.current).toBeLessThan(last!.total!);
      expect(await tree(stores.root)).toEqual(before);
      expect(stores.images.ids().length).toBe(1);
    }
  });
});
