import type { Descriptor } from "../descriptor";
import { RegistryError, RegistryErrorCode } from "../errors";
import type { ImageIndex, ImageManifest, IndexEntry, ParsedManifest } from "./manifest";
import { isImageManifestMediaType, isIndexMediaType, isLayerMediaType, isSchema1MediaType, MediaType } from "./media-types";
import { invalid, isObject, type JsonObject, oneLine, optionalAnnotations, optionalString, parseDescriptor, requiredArray } from "./parse-descriptor";

/** Options of {@link parseManifest}. */
export interface ParseManifestOptions {
  /**
   * The reference the manifest was pulled as (`docker.io/library/busybox:latest`), for messages:
   * docker's schema1 refusal suggests "the author of <reference>" upgrade the image.
   */
  reference?: string;
}

// Content types that say nothing about which manifest it is: the body's fields decide.
// distribution 2.x answers `application/json` for a schema1 manifest it serves unsigned, and
// some servers (or files) give `text/plain` or `application/octet-stream`.
const genericContentTypes = new Set(["", "application/json", "text/plain", "application/octet-stream"]);

const decoder = new TextDecoder("utf-8", { fatal: true });

/** moby's DeprecatedSchema1ImageError, word for word. */
export function schema1Error(reference: string | undefined, mediaType: string): RegistryError {
  let message = "Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed.";
  if (reference !== undefined) message += ` Suggest the author of ${reference} to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2.`;
  message += " More information at https://docs.docker.com/go/deprecated-image-specs/";
  return new RegistryError(RegistryErrorCode.Schema1Unsupported, message, { details: { mediaType, ...(reference === undefined ? {} : { reference }) } });
}

function unsupported(mediaType: string): RegistryError {
  return new RegistryError(RegistryErrorCode.ManifestUnsupported, `unsupported manifest media type ${JSON.stringify(mediaType)}`, { details: { mediaType } });
}

/** A `Content-Type` value without its parameters (the spec says to ignore them), lowercased. */
function bareMediaType(contentType: string): string {
  return contentType.split(";", 1)[0]!.trim().toLowerCase();
}

function parseJson(bytes: Uint8Array): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch (e) {
    // V8 quotes the offending text in its message: control characters in it would break the one line.
    const reason = oneLine(e instanceof Error ? e.message : String(e));
    throw new RegistryError(RegistryErrorCode.ManifestInvalid, `invalid manifest: not JSON: ${reason}`, { cause: e });
  }
  if (!isObject(value)) throw new RegistryError(RegistryErrorCode.ManifestInvalid, "invalid manifest: not a JSON object");
  return value;
}

/**
 * Which manifest the bytes are: the `Content-Type` when it names one, checked against the body's
 * `mediaType` (the distribution spec: reject when both are there and differ); else the body's
 * `mediaType`; else what its fields imply (`manifests`: an index; `config`: a manifest).
 */
function resolveMediaType(body: JsonObject, contentType: string | undefined, reference: string | undefined): string {
  const header = contentType === undefined ? "" : bareMediaType(contentType);
  const declared = optionalString(body, "mediaType", "manifest");
  if (isSchema1MediaType(header) || (declared !== undefined && isSchema1MediaType(declared))) throw schema1Error(reference, declared ?? header);
  if (!genericContentTypes.has(header)) {
    if (declared !== undefined && declared !== header) {
      throw invalid("manifest.mediaType", `${JSON.stringify(declared)} does not match the Content-Type ${JSON.stringify(header)}`);
    }
    return header;
  }
  if (declared !== undefined) return declared;
  // A schema1 body has no mediaType; its schemaVersion says what it is.
  if (body.schemaVersion === 1) throw schema1Error(reference, MediaType.DockerSchema1Manifest);
  if (body.manifests !== undefined) return MediaType.OciIndex;
  if (body.config !== undefined) return MediaType.OciManifest;
  throw invalid("manifest", "no mediaType, and neither manifests nor config to tell what it is");
}

function parseLayer(value: unknown, path: string): Descriptor {
  const layer = parseDescriptor(value, path);
  if (!isLayerMediaType(layer.mediaType)) {
    throw new RegistryError(RegistryErrorCode.LayerUnsupported, `unsupported media type ${oneLine(layer.mediaType)}`, {
      details: { field: path, mediaType: layer.mediaType, digest: layer.digest.toString() },
    });
  }
  return layer;
}

function parseIndexEntry(value: unknown, path: string): IndexEntry {
  const descriptor = parseDescriptor(value, path);
  return { ...descriptor, supported: isImageManifestMediaType(descriptor.mediaType) || isIndexMediaType(descriptor.mediaType) };
}

function common(body: JsonObject, mediaType: string) {
  const artifactType = optionalString(body, "artifactType", "manifest");
  const annotations = optionalAnnotations(body, "annotations", "manifest");
  const subject = body.subject === undefined ? undefined : parseDescriptor(body.subject, "manifest.subject");
  return {
    mediaType,
    schemaVersion: 2 as const,
    ...(artifactType === undefined ? {} : { artifactType }),
    ...(subject === undefined ? {} : { subject }),
    ...(annotations === undefined ? {} : { annotations }),
  };
}

/**
 * Parses and validates a manifest or index (Docker schema2 manifest or manifest list, OCI
 * manifest or index) from its exact bytes, as a tagged union on `kind`.
 *
 * `mediaType` is the response's `Content-Type`, when there was one. Refused, each with a
 * one-line `RegistryError`: bytes that are not a UTF-8 JSON object; schema1 (docker's own
 * message, `ERR_REGISTRY_SCHEMA1_UNSUPPORTED`); a `schemaVersion` other than 2; a body
 * `mediaType` that differs from the `Content-Type`; a manifest type this client does not read;
 * a manifest with `manifests` or an index with `config`/`layers` (OCI's ambiguity rule); a
 * descriptor whose digest does not parse or whose size is not a non-negative safe integer; a
 * layer of a media type that is not a layer's (`ERR_REGISTRY_LAYER_UNSUPPORTED`). An index entry
 * of an unknown media type is kept with `supported: false`.
 *
 * @example
 * const m = parseManifest(bytes, response.headers.get("content-type") ?? undefined);
 * if (m.kind === "index") … selectManifests(m, hostPlatform()) …
 */
export function parseManifest(bytes: Uint8Array, mediaType?: string, options: ParseManifestOptions = {}): ParsedManifest {
  const body = parseJson(bytes);
  const resolved = resolveMediaType(body, mediaType, options.reference);
  if (body.schemaVersion !== 2) {
    if (body.schemaVersion === 1) throw schema1Error(options.reference, resolved);
    throw invalid(
      "manifest.schemaVersion",
      body.schemaVersion === undefined ? "missing (2 is required)" : `${JSON.stringify(body.schemaVersion)}, 2 is required`,
    );
  }
  if (isIndexMediaType(resolved)) {
    if (body.config !== undefined || body.layers !== undefined) throw invalid("manifest", `an index (${resolved}) with config or layers is ambiguous`);
    const index: ImageIndex = { kind: "index", ...common(body, resolved), manifests: requiredArray(body, "manifests", "manifest", parseIndexEntry) };
    return index;
  }
  if (isImageManifestMediaType(resolved)) {
    if (body.manifests !== undefined) throw invalid("manifest", `a manifest (${resolved}) with manifests is ambiguous`);
    const manifest: ImageManifest = {
      kind: "manifest",
      ...common(body, resolved),
      config: parseDescriptor(body.config, "manifest.config"),
      layers: requiredArray(body, "layers", "manifest", parseLayer),
    };
    return manifest;
  }
  throw unsupported(resolved);
}
