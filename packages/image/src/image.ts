import { type Digest, chainId, digestFromBytes, isDigest, parseDigest } from "@store/digest";
import { ImageError, ImageErrorCode } from "./errors";
import { type GoTime, parseGoTime, zeroTime } from "./go-time";
import type { ContainerConfig, DockerImageConfig } from "./image-config";

/** One history entry, decoded. */
export interface ImageHistory {
  created: GoTime;
  author: string;
  createdBy: string;
  comment: string;
  emptyLayer: boolean;
}

/** An image config decoded as moby decodes it, with the bytes it came from. */
export interface ParsedImageConfig {
  /** The exact bytes: never re-serialised, so the ID (their sha256) holds forever. */
  readonly raw: Uint8Array;
  /** The decoded JSON, every field kept. */
  readonly config: DockerImageConfig;
  readonly rootFS: { readonly type: string; readonly diffIds: readonly Digest[] };
  readonly history: readonly ImageHistory[];
  /** `created`, or Go's zero time when absent. */
  readonly created: GoTime;
  /** The run config (`config`), undefined for very old images without one. */
  readonly runConfig: ContainerConfig | undefined;
  /** `os`, or "linux" when empty (moby's OperatingSystem() defaults to the host's). */
  readonly os: string;
  /** The chain ID of the top layer; undefined for an image with no layers. */
  readonly chainId: Digest | undefined;
}

/** An image of the store: its config plus its ID and parent link. */
export interface Image extends ParsedImageConfig {
  readonly id: Digest;
  /** The parent image (builder lineage, `parent` metadata), if any. */
  readonly parent: Digest | undefined;
}

/** The image ID of config bytes: sha256 of exactly these bytes. */
export function imageIdOf(config: Uint8Array): Digest {
  return digestFromBytes(config);
}

type Json = Record<string, unknown>;

/**
 * Go's encoding/json matches object keys to struct fields case-insensitively, the last matching
 * key winning; mirror it so a config dockerd accepts ("RootFS", say) is accepted here too.
 */
function field(obj: Json, name: string): unknown {
  // `name` is lowercase; JSON.parse keeps document order for these non-numeric keys.
  let value: unknown;
  for (const key of Object.keys(obj)) if (key === name || key.toLowerCase() === name) value = obj[key];
  return value;
}

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const bareHex = /^[a-f0-9]{64}$/;
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Decodes image config bytes as moby's image.NewFromJSON does: the JSON must decode into the
 * config's types and have a non-null `rootfs` ("invalid image JSON, no RootFS key"). Throws
 * ERR_IMAGE_INVALID_CONFIG naming `what` (the digest or file) otherwise.
 *
 * Diff IDs: Go's digest type is a plain string, so moby decodes any string and only the layer
 * store lookup fails later. moby's own store test uses a diff ID without its `sha256:` prefix;
 * a bare 64-hex diff ID is read here as sha256, and anything else that is not a digest is
 * refused at once (dockerd would fail the same config at the layer lookup).
 */
export function parseImageConfig(raw: Uint8Array, what = "image config"): ParsedImageConfig {
  const invalid = (reason: string, cause?: unknown) =>
    new ImageError(ImageErrorCode.InvalidConfig, `${what}: invalid image config: ${reason}`, {
      cause,
      details: { what, reason },
    });
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(raw));
  } catch (e) {
    throw invalid(`not JSON (${(e as Error).message})`, e);
  }
  if (json === null) json = {};
  if (!isObject(json)) throw invalid("not a JSON object");

  const str = (obj: Json, name: string, where: string): string => {
    const v = field(obj, name);
    if (v === undefined || v === null) return "";
    if (typeof v !== "string") throw invalid(`${where}${name} is not a string`);
    return v;
  };
  const time = (obj: Json, name: string, where: string): GoTime => {
    const v = field(obj, name);
    if (v === undefined || v === null) return zeroTime;
    const t = typeof v === "string" ? parseGoTime(v) : undefined;
    if (!t) throw invalid(`${where}${name} ${JSON.stringify(v)} is not an RFC 3339 time`);
    return t;
  };

  const rootfs = field(json, "rootfs");
  if (rootfs === undefined || rootfs === null) throw invalid("invalid image JSON, no RootFS key");
  if (!isObject(rootfs)) throw invalid("rootfs is not an object");
  const type = str(rootfs, "type", "rootfs.");
  const rawDiffIds = field(rootfs, "diff_ids") ?? [];
  if (!Array.isArray(rawDiffIds)) throw invalid("rootfs.diff_ids is not an array");
  const diffIds = rawDiffIds.map((d, i) => {
    if (typeof d === "string" && isDigest(d)) return parseDigest(d);
    if (typeof d === "string" && bareHex.test(d)) return parseDigest(`sha256:${d}`);
    throw invalid(`rootfs.diff_ids[${i}] ${JSON.stringify(d)} is not a digest`);
  });

  const rawHistory = field(json, "history") ?? [];
  if (!Array.isArray(rawHistory)) throw invalid("history is not an array");
  const history = rawHistory.map((h, i): ImageHistory => {
    const entry = h ?? {};
    if (!isObject(entry)) throw invalid(`history[${i}] is not an object`);
    const where = `history[${i}].`;
    const empty = field(entry, "empty_layer") ?? false;
    if (typeof empty !== "boolean") throw invalid(`${where}empty_layer is not a boolean`);
    return {
      created: time(entry, "created", where),
      author: str(entry, "author", where),
      createdBy: str(entry, "created_by", where),
      comment: str(entry, "comment", where),
      emptyLayer: empty,
    };
  });

  const runConfig = field(json, "config");
  if (runConfig !== undefined && runConfig !== null && !isObject(runConfig)) throw invalid("config is not an object");
  if (isObject(runConfig)) {
    const labels = field(runConfig, "labels");
    if (labels !== undefined && labels !== null) {
      if (!isObject(labels) || Object.values(labels).some((v) => typeof v !== "string")) {
        throw invalid("config.Labels is not a map of strings");
      }
    }
  }
  for (const name of ["os", "architecture", "variant", "comment", "author", "docker_version", "container", "os.version"]) {
    str(json, name, "");
  }

  return {
    raw,
    config: json as unknown as DockerImageConfig,
    rootFS: { type, diffIds },
    history,
    created: time(json, "created", ""),
    runConfig: isObject(runConfig) ? (runConfig as ContainerConfig) : undefined,
    os: str(json, "os", "") || "linux",
    chainId: chainId(diffIds),
  };
}

/** The labels of a run config (Go field matching), or undefined when it has none. */
export function configLabels(runConfig: ContainerConfig | undefined): Record<string, string> | undefined {
  if (!runConfig) return undefined;
  const labels = field(runConfig as Json, "labels");
  return isObject(labels) ? (labels as Record<string, string>) : undefined;
}

/** A string field of the config by Go's matching rules ("" when absent). */
export function configString(config: DockerImageConfig, name: string): string {
  const v = field(config as Json, name);
  return typeof v === "string" ? v : "";
}

/** Any field of the config by Go's matching rules. */
export function configField(config: DockerImageConfig, name: string): unknown {
  return field(config as Json, name);
}
