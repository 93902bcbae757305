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

/**
 * The same matching for many lookups on one object, without a scan per lookup: the object
 * itself when its keys are lowercase already (what dockerd and every builder write), else a copy
 * with keys folded, later keys winning as in Go. Restore decodes every config of the store, and
 * per-lookup scans cost ten times the JSON parse itself.
 */
function folded(obj: Json): Json {
  let lower = true;
  for (const key in obj) {
    if (key !== key.toLowerCase()) {
      lower = false;
      break;
    }
  }
  if (lower) return obj;
  const out: Json = Object.create(null) as Json;
  for (const key of Object.keys(obj)) out[key.toLowerCase()] = obj[key];
  return out;
}

/**
 * Parsed diff IDs and chain IDs of recent stacks: the images of a store share a few base layers,
 * so restore would otherwise parse the same digests and hash the same chains thousands of times.
 * Bounded, and only ever holding values derived from their key.
 */
const stackCache = new Map<string, { diffIds: Digest[]; chainId: Digest | undefined }>();
/** Parsed times, for the same reason: history entries of a shared base repeat in every image built on it. */
const timeCache = new Map<string, GoTime>();
const cacheMax = 4096;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const bareHex = /^[a-f0-9]{64}$/;
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** The config's name in messages: a string, or built only when an error needs it. */
export type ConfigName = string | (() => string);

function invalid(what: ConfigName, reason: string, cause?: unknown): ImageError {
  const name = typeof what === "string" ? what : what();
  return new ImageError(ImageErrorCode.InvalidConfig, `${name}: invalid image config: ${reason}`, {
    cause,
    details: { what: name, reason },
  });
}

function str(obj: Json, name: string, where: string, what: ConfigName): string {
  const v = obj[name];
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw invalid(what, `${where}${name} is not a string`);
  return v;
}

function time(obj: Json, name: string, where: string, what: ConfigName): GoTime {
  const v = obj[name];
  if (v === undefined || v === null) return zeroTime;
  if (typeof v === "string") {
    const cached = timeCache.get(v);
    if (cached) return cached;
    const t = parseGoTime(v);
    if (t) {
      if (timeCache.size >= cacheMax) timeCache.clear();
      timeCache.set(v, Object.freeze(t));
      return t;
    }
  }
  throw invalid(what, `${where}${name} ${JSON.stringify(v)} is not an RFC 3339 time`);
}

function diffIdsOf(raw: unknown[], what: ConfigName): { diffIds: Digest[]; chainId: Digest | undefined } {
  // A digest never holds a comma, so the joined strings name the stack.
  const key = raw.every((d) => typeof d === "string") ? raw.join(",") : undefined;
  const cached = key === undefined ? undefined : stackCache.get(key);
  if (cached) return cached;
  const diffIds = raw.map((d, i) => {
    if (typeof d === "string" && isDigest(d)) return parseDigest(d);
    if (typeof d === "string" && bareHex.test(d)) return parseDigest(`sha256:${d}`);
    throw invalid(what, `rootfs.diff_ids[${i}] ${JSON.stringify(d)} is not a digest`);
  });
  const stack = { diffIds, chainId: chainId(diffIds) };
  if (key !== undefined) {
    if (stackCache.size >= cacheMax) stackCache.clear();
    stackCache.set(key, stack);
  }
  return stack;
}

const checkedStrings = ["os", "architecture", "variant", "comment", "author", "docker_version", "container", "os.version"];

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
export function parseImageConfig(raw: Uint8Array, what: ConfigName = "image config"): ParsedImageConfig {
  return decodeImageConfig(raw, what, true);
}

/**
 * {@link parseImageConfig}, with the same checks; without `keepHistory` the history is checked
 * but not kept (`history` is empty): restore needs none of it, and 10,000 images' worth of
 * history objects is most of what restore would allocate.
 */
export function decodeImageConfig(raw: Uint8Array, what: ConfigName, keepHistory: boolean): ParsedImageConfig {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(raw));
  } catch (e) {
    throw invalid(what, `not JSON (${(e as Error).message})`, e);
  }
  if (json === null) json = {};
  if (!isObject(json)) throw invalid(what, "not a JSON object");

  const top = folded(json);
  const rootfsValue = top.rootfs;
  if (rootfsValue === undefined || rootfsValue === null) throw invalid(what, "invalid image JSON, no RootFS key");
  if (!isObject(rootfsValue)) throw invalid(what, "rootfs is not an object");
  const rootfs = folded(rootfsValue);
  const type = str(rootfs, "type", "rootfs.", what);
  const rawDiffIds = rootfs.diff_ids ?? [];
  if (!Array.isArray(rawDiffIds)) throw invalid(what, "rootfs.diff_ids is not an array");
  const stack = diffIdsOf(rawDiffIds, what);

  const rawHistory = top.history ?? [];
  if (!Array.isArray(rawHistory)) throw invalid(what, "history is not an array");
  const history: ImageHistory[] = [];
  for (let i = 0; i < rawHistory.length; i++) {
    const value = rawHistory[i] ?? {};
    if (!isObject(value)) throw invalid(what, `history[${i}] is not an object`);
    const entry = folded(value);
    const where = `history[${i}].`;
    const empty = entry.empty_layer ?? false;
    if (typeof empty !== "boolean") throw invalid(what, `${where}empty_layer is not a boolean`);
    const item: ImageHistory = {
      created: time(entry, "created", where, what),
      author: str(entry, "author", where, what),
      createdBy: str(entry, "created_by", where, what),
      comment: str(entry, "comment", where, what),
      emptyLayer: empty,
    };
    if (keepHistory) history.push(item);
  }

  const runConfig = top.config;
  if (runConfig !== undefined && runConfig !== null && !isObject(runConfig)) throw invalid(what, "config is not an object");
  if (isObject(runConfig)) {
    const labels = field(runConfig, "labels");
    if (labels !== undefined && labels !== null) {
      if (!isObject(labels)) throw invalid(what, "config.Labels is not a map of strings");
      for (const k in labels) if (typeof labels[k] !== "string") throw invalid(what, "config.Labels is not a map of strings");
    }
  }
  for (const name of checkedStrings) str(top, name, "", what);

  return {
    raw,
    config: json as unknown as DockerImageConfig,
    rootFS: { type, diffIds: stack.diffIds },
    history,
    created: time(top, "created", "", what),
    runConfig: isObject(runConfig) ? (runConfig as ContainerConfig) : undefined,
    os: str(top, "os", "", what) || "linux",
    chainId: stack.chainId,
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
