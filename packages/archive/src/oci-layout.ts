import { arch } from "node:process";
import { type Digest, parseDigest } from "@store/digest";
import { ArchiveError, ArchiveErrorCode } from "./errors";
import { goField, isJsonObject } from "./json-fields";
import { MediaType } from "./oci-types";

/** A descriptor from an index or manifest, its digest parsed. */
export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  annotations: Record<string, string>;
  platform?: { os: string; architecture: string; variant?: string };
}

/** A decoded OCI index (index.json, or a nested index blob). */
export interface OciIndex {
  kind: "index";
  manifests: Descriptor[];
}

/** A decoded image manifest (OCI or Docker schema 2). */
export interface OciManifest {
  kind: "manifest";
  config: Descriptor;
  layers: Descriptor[];
}

const decoder = new TextDecoder();

function invalid(what: string, reason: string, cause?: unknown): ArchiveError {
  return new ArchiveError(ArchiveErrorCode.Invalid, `${what}: ${reason}`, { cause, details: { file: what } });
}

function parseJson(bytes: Uint8Array, what: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(bytes));
  } catch (e) {
    throw invalid(what, `not JSON (${(e as Error).message})`, e);
  }
  if (!isJsonObject(json)) throw invalid(what, "not a JSON object");
  return json;
}

function descriptor(raw: unknown, what: string): Descriptor {
  if (!isJsonObject(raw)) throw invalid(what, "descriptor is not an object");
  const digestText = goField(raw, "digest");
  let digest: Digest;
  try {
    digest = parseDigest(String(digestText));
  } catch (e) {
    throw invalid(what, `descriptor digest ${JSON.stringify(digestText)} is not a digest`, e);
  }
  const size = goField(raw, "size");
  const mediaType = goField(raw, "mediaType");
  const annotations = goField(raw, "annotations");
  const platform = goField(raw, "platform");
  const out: Descriptor = {
    mediaType: typeof mediaType === "string" ? mediaType : "",
    digest,
    size: typeof size === "number" ? size : -1,
    annotations: {},
  };
  if (isJsonObject(annotations)) {
    for (const [k, v] of Object.entries(annotations)) if (typeof v === "string") out.annotations[k] = v;
  }
  if (isJsonObject(platform)) {
    const os = goField(platform, "os");
    const architecture = goField(platform, "architecture");
    const variant = goField(platform, "variant");
    out.platform = { os: typeof os === "string" ? os : "", architecture: typeof architecture === "string" ? architecture : "" };
    if (typeof variant === "string" && variant) out.platform.variant = variant;
  }
  return out;
}

/**
 * Decodes an index or manifest blob, by its mediaType or, when that is absent (allowed by the
 * spec), by its fields: `manifests` makes an index, `config` + `layers` a manifest.
 * Returns undefined for anything else (a config, a layer that happens to be JSON).
 */
export function parseOciDocument(bytes: Uint8Array, what: string): OciIndex | OciManifest | undefined {
  const json = parseJson(bytes, what);
  const mediaType = goField(json, "mediaType");
  const manifests = goField(json, "manifests");
  const config = goField(json, "config");
  const layers = goField(json, "layers");
  const isIndex = mediaType === MediaType.OciIndex || mediaType === MediaType.DockerManifestList || (mediaType === undefined && Array.isArray(manifests));
  const isManifest =
    mediaType === MediaType.OciManifest || mediaType === MediaType.DockerManifest || (mediaType === undefined && isJsonObject(config) && Array.isArray(layers));
  if (isIndex) {
    if (!Array.isArray(manifests)) throw invalid(what, "index has no manifests list");
    return { kind: "index", manifests: manifests.map((m) => descriptor(m, what)) };
  }
  if (isManifest) {
    if (!isJsonObject(config)) throw invalid(what, "manifest has no config descriptor");
    if (layers !== undefined && layers !== null && !Array.isArray(layers)) throw invalid(what, "manifest layers is not a list");
    return { kind: "manifest", config: descriptor(config, what), layers: ((layers as unknown[] | null) ?? []).map((l) => descriptor(l, what)) };
  }
  return undefined;
}

/** Decodes index.json: it must be an index. */
export function parseOciIndex(bytes: Uint8Array, what = "index.json"): OciIndex {
  const doc = parseOciDocument(bytes, what);
  if (doc?.kind !== "index") throw invalid(what, "not an image index");
  return doc;
}

const goArch: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };

/** This host's platform as OCI names it. */
export function hostPlatform(): { os: string; architecture: string } {
  return { os: "linux", architecture: goArch[arch] ?? arch };
}

/** Whether a descriptor's platform (if it has one) can run here. */
export function matchesHost(d: Descriptor): boolean {
  if (!d.platform) return true;
  const host = hostPlatform();
  return (d.platform.os === "" || d.platform.os === host.os) && (d.platform.architecture === "" || d.platform.architecture === host.architecture);
}

/** Whether a layer descriptor is a distributable layer tar (plain, gzip or zstd). */
export function isLayerMediaType(mediaType: string): boolean {
  return mediaType === "" || mediaType.startsWith("application/vnd.oci.image.layer.") || mediaType.startsWith("application/vnd.docker.image.rootfs.");
}
