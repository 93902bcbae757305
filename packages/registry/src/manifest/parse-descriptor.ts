import { isStoreError } from "@store/errors";
import { toDigest } from "@store/digest";
import type { Descriptor, Platform } from "../descriptor";
import { RegistryError, RegistryErrorCode } from "../errors";

/** A JSON object as parsed (no prototype tricks: JSON.parse only makes own data properties). */
export type JsonObject = Record<string, unknown>;

/**
 * `text` (from a registry, so anything) safe inside a one-line message: control characters,
 * line and paragraph separators written as escapes.
 */
export function oneLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this escapes
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** The manifest-level error every malformed field gives: one line naming the field's path. */
export function invalid(path: string, problem: string, cause?: unknown): RegistryError {
  return new RegistryError(RegistryErrorCode.ManifestInvalid, oneLine(`invalid manifest: ${path}: ${problem}`), {
    details: { field: path },
    ...(cause === undefined ? {} : { cause }),
  });
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `${typeof value} ${JSON.stringify(value)?.slice(0, 80)}`;
}

export function requiredString(object: JsonObject, key: string, path: string): string {
  const value = object[key];
  if (typeof value !== "string") throw invalid(`${path}.${key}`, value === undefined ? "missing" : `expected a string, got ${describe(value)}`);
  return value;
}

export function optionalString(object: JsonObject, key: string, path: string): string | undefined {
  const value = object[key];
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw invalid(`${path}.${key}`, `expected a string, got ${describe(value)}`);
  return value;
}

function optionalStrings(object: JsonObject, key: string, path: string): string[] | undefined {
  const value = object[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw invalid(`${path}.${key}`, `expected an array of strings, got ${describe(value)}`);
  return value.map((item, i) => {
    if (typeof item !== "string") throw invalid(`${path}.${key}[${i}]`, `expected a string, got ${describe(item)}`);
    return item;
  });
}

export function optionalAnnotations(object: JsonObject, key: string, path: string): Record<string, string> | undefined {
  const value = object[key];
  if (value === undefined) return undefined;
  if (!isObject(value)) throw invalid(`${path}.${key}`, `expected an object of strings, got ${describe(value)}`);
  const out: Record<string, string> = {};
  for (const [name, item] of Object.entries(value)) {
    if (typeof item !== "string") throw invalid(`${path}.${key}.${name}`, `expected a string, got ${describe(item)}`);
    // defineProperty: a key named "__proto__" stays data, as JSON.parse made it.
    Object.defineProperty(out, name, { value: item, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** An array field, required: each item handed to `parse` with its path. */
export function requiredArray<T>(object: JsonObject, key: string, path: string, parse: (item: unknown, path: string) => T): T[] {
  const value = object[key];
  if (!Array.isArray(value)) throw invalid(`${path}.${key}`, value === undefined ? "missing" : `expected an array, got ${describe(value)}`);
  return value.map((item, i) => parse(item, `${path}.${key}[${i}]`));
}

function parsePlatformField(value: unknown, path: string): Platform {
  if (!isObject(value)) throw invalid(path, `expected an object, got ${describe(value)}`);
  const platform: Platform = { os: requiredString(value, "os", path), architecture: requiredString(value, "architecture", path) };
  const variant = optionalString(value, "variant", path);
  const osVersion = optionalString(value, "os.version", path);
  const osFeatures = optionalStrings(value, "os.features", path);
  if (variant !== undefined) platform.variant = variant;
  if (osVersion !== undefined) platform["os.version"] = osVersion;
  if (osFeatures !== undefined) platform["os.features"] = osFeatures;
  return platform;
}

/**
 * A content descriptor from a manifest's JSON: media type, digest (parsed once, here) and size
 * (a non-negative safe integer) required; urls, annotations, artifactType and (for index
 * entries) platform kept when present and well-typed. Other fields are ignored, as Go's
 * json.Unmarshal ignores them.
 */
export function parseDescriptor(value: unknown, path: string): Descriptor {
  if (!isObject(value)) throw invalid(path, `expected a descriptor object, got ${describe(value)}`);
  const mediaType = requiredString(value, "mediaType", path);
  if (mediaType === "") throw invalid(`${path}.mediaType`, "empty");
  const digestText = requiredString(value, "digest", path);
  let digest: Descriptor["digest"];
  try {
    digest = toDigest(digestText);
  } catch (e) {
    if (!isStoreError(e)) throw e;
    throw invalid(`${path}.digest`, e.message, e);
  }
  const size = value.size;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw invalid(`${path}.size`, size === undefined ? "missing" : `expected a non-negative integer, got ${describe(size)}`);
  }
  const descriptor: Descriptor = { mediaType, digest, size };
  const urls = optionalStrings(value, "urls", path);
  const annotations = optionalAnnotations(value, "annotations", path);
  const artifactType = optionalString(value, "artifactType", path);
  if (urls !== undefined) descriptor.urls = urls;
  // An empty platform object is no platform, as moby reads a manifest list (toOCIPlatform).
  if (value.platform !== undefined && !(isObject(value.platform) && Object.keys(value.platform).length === 0)) {
    descriptor.platform = parsePlatformField(value.platform, `${path}.platform`);
  }
  if (annotations !== undefined) descriptor.annotations = annotations;
  if (artifactType !== undefined) descriptor.artifactType = artifactType;
  return descriptor;
}
