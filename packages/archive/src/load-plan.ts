import { type Digest, digestFromBytes } from "@store/digest";
import { readFile } from "node:fs/promises";
import { type ArchiveFiles, blobPath } from "./archive-files";
import { archivePath } from "./archive-path";
import { ArchiveError, ArchiveErrorCode } from "./errors";
import { type Descriptor, isLayerMediaType, matchesHost, parseOciDocument, parseOciIndex } from "./oci-layout";
import { Annotation } from "./oci-types";

/** One layer of a planned image: the archive file holding it, and the blob digest and size it must have (OCI). */
export interface PlannedLayer {
  path: string;
  digest?: Digest;
  size?: number;
}

/** An image the archive holds, as its manifest describes it (nothing checked against the stores yet). */
export interface PlannedImage {
  /** Where the description came from, for errors: `manifest.json entry 0`, `index.json manifest sha256:…`. */
  what: string;
  configPath: string;
  config: Uint8Array;
  layers: PlannedLayer[];
  /** Tags as the archive writes them (`busybox:latest`), not yet parsed. */
  repoTags: string[];
  /** manifest.json's `Parent` (an image ID in the same archive). */
  parent?: string;
}

export interface LoadPlan {
  format: "docker-archive" | "oci";
  images: PlannedImage[];
}

function missing(what: string, path: string): ArchiveError {
  return new ArchiveError(ArchiveErrorCode.MissingFile, `${what}: the archive has no file ${JSON.stringify(path)}`, {
    details: { file: path, what },
  });
}

/** The whole content of a small file of the archive (a config, a manifest). */
export async function readSmall(files: ArchiveFiles, path: string, what: string): Promise<Uint8Array> {
  const found = files.resolve(path);
  if (!found) throw missing(what, path);
  const f = found.file;
  if (f.kind === "memory") return f.bytes;
  if (f.kind === "spool") {
    // Spooled past the budget, or a blob over 1 MiB: read back only within the same bounds.
    files.budget.takeMetadata(found.path, f.size, `${what}: ${JSON.stringify(found.path)}`);
    return readFile(f.file);
  }
  if (f.kind === "unreadable") {
    throw new ArchiveError(ArchiveErrorCode.Invalid, `${what}: ${JSON.stringify(path)}: ${f.error.message}`, { cause: f.error, details: { file: path } });
  }
  throw new ArchiveError(ArchiveErrorCode.Invalid, `${what}: ${JSON.stringify(path)} is a layer, not a metadata file`, { details: { file: path } });
}

/** A blob, its content verified against the descriptor's digest. */
async function readBlob(files: ArchiveFiles, d: Descriptor, what: string): Promise<Uint8Array> {
  const path = blobPath(d.digest);
  const bytes = await readSmall(files, path, what);
  const actual = digestFromBytes(bytes, d.digest.algorithm);
  if (!actual.equals(d.digest)) {
    throw new ArchiveError(ArchiveErrorCode.Invalid, `${what}: blob ${path} has digest ${actual}, its descriptor says ${d.digest}`, {
      details: { file: path, expected: d.digest.toString(), actual: actual.toString() },
    });
  }
  return bytes;
}

/**
 * What to load: from `manifest.json` when the archive has one (dockerd's `docker save`, both the
 * classic layout and Docker 25+'s, and skopeo's docker-archive), else from an OCI layout's
 * `index.json`. Paths are cleaned and checked to stay inside the archive; configs are read.
 */
export async function makePlan(files: ArchiveFiles): Promise<LoadPlan> {
  if (files.manifest) {
    const images: PlannedImage[] = [];
    for (const [i, item] of files.manifest.entries()) {
      const what = `manifest.json entry ${i}`;
      if (item.Config === "") throw new ArchiveError(ArchiveErrorCode.Invalid, `${what}: no Config`, { details: { file: "manifest.json" } });
      const configPath = archivePath(item.Config, `${what} Config`);
      images.push({
        what,
        configPath,
        config: await readSmall(files, configPath, `${what} Config`),
        layers: item.Layers.map((l, j) => ({ path: archivePath(l, `${what} layer ${j}`) })),
        repoTags: item.RepoTags,
        ...(item.Parent ? { parent: item.Parent } : {}),
      });
    }
    return { format: "docker-archive", images };
  }
  if (files.has("index.json")) {
    const index = parseOciIndex(await readSmall(files, "index.json", "index.json"));
    const images: PlannedImage[] = [];
    for (const d of index.manifests) {
      if (!matchesHost(d)) continue;
      const what = `index.json manifest ${d.digest}`;
      const manifest = await resolveManifest(files, d, what, 0);
      if (!manifest) continue;
      const configPath = blobPath(manifest.config.digest);
      const layers = manifest.layers.filter((l) => isLayerMediaType(l.mediaType));
      if (layers.length !== manifest.layers.length) {
        const odd = manifest.layers.find((l) => !isLayerMediaType(l.mediaType))!;
        throw new ArchiveError(ArchiveErrorCode.Invalid, `${what}: layer ${odd.digest} has media type ${JSON.stringify(odd.mediaType)}, not a layer tar`, {
          details: { digest: odd.digest.toString(), mediaType: odd.mediaType },
        });
      }
      const tag = ociTag(d);
      images.push({
        what,
        configPath,
        config: await readBlob(files, manifest.config, `${what} config`),
        layers: layers.map((l) => ({ path: blobPath(l.digest), digest: l.digest, ...(Number.isSafeInteger(l.size) && l.size >= 0 ? { size: l.size } : {}) })),
        repoTags: tag ? [tag] : [],
      });
    }
    return { format: "oci", images };
  }
  throw new ArchiveError(
    ArchiveErrorCode.Invalid,
    "archive has neither manifest.json nor index.json: not a docker-archive or OCI image layout (pre-1.10 archives with only `repositories` are not supported)",
    { details: {} },
  );
}

/** A manifest descriptor's manifest; an index is followed to the manifest for this host's platform. */
async function resolveManifest(
  files: ArchiveFiles,
  d: Descriptor,
  what: string,
  depth: number,
): Promise<{ config: Descriptor; layers: Descriptor[] } | undefined> {
  if (depth > 4) throw new ArchiveError(ArchiveErrorCode.Invalid, `${what}: indexes nested too deep`, { details: {} });
  const doc = parseOciDocument(await readBlob(files, d, what), blobPath(d.digest));
  if (!doc) throw new ArchiveError(ArchiveErrorCode.Invalid, `${what}: blob is neither a manifest nor an index`, { details: { digest: d.digest.toString() } });
  if (doc.kind === "manifest") return doc;
  const match = doc.manifests.find((m) => m.platform && matchesHost(m)) ?? doc.manifests.find((m) => !m.platform);
  if (!match) return undefined;
  return resolveManifest(files, match, `${what} → ${match.digest}`, depth + 1);
}

/**
 * The tag an index.json descriptor names: containerd's and Docker's `io.containerd.image.name`,
 * else `org.opencontainers.image.ref.name` when it is a whole reference (skopeo writes
 * `busybox:latest` there). A bare ref.name such as `latest` has no repository to tag, so the
 * image is loaded untagged.
 */
function ociTag(d: Descriptor): string | undefined {
  const name = d.annotations[Annotation.ImageName];
  if (name) return name;
  const ref = d.annotations[Annotation.RefName];
  if (ref && (ref.includes("/") || ref.includes(":"))) return ref;
  return undefined;
}
