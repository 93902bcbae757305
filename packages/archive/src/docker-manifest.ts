import { ArchiveError, ArchiveErrorCode } from "./errors";
import { goField, isJsonObject } from "./json-fields";

/** One entry of a docker-archive's `manifest.json` (moby tarexport manifestItem). */
export interface DockerManifestItem {
  /** The config file, e.g. `<id>.json` (dockerd 20.10) or `blobs/sha256/<id>` (Docker 25+). */
  Config: string;
  /** Familiar tagged references, e.g. `busybox:latest`. */
  RepoTags: string[];
  /** One layer tar per diff ID, bottom first. */
  Layers: string[];
  /** The parent image's ID when it is in the same archive. */
  Parent?: string;
  /** Foreign layers' descriptors by diff ID (moby keeps them for Windows base layers). */
  LayerSources?: Record<string, unknown>;
}

const decoder = new TextDecoder();

/** Decodes `manifest.json` as moby's Load does; null is refused ("manifest cannot be null"). */
export function parseDockerManifest(bytes: Uint8Array): DockerManifestItem[] {
  const invalid = (reason: string, cause?: unknown) =>
    new ArchiveError(ArchiveErrorCode.Invalid, `manifest.json: ${reason}`, { cause, details: { file: "manifest.json" } });
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(bytes));
  } catch (e) {
    throw invalid(`not JSON (${(e as Error).message})`, e);
  }
  if (json === null) throw invalid("invalid manifest, manifest cannot be null (but can be [])");
  if (!Array.isArray(json)) throw invalid("not a JSON array");
  return json.map((item, i) => {
    if (!isJsonObject(item)) throw invalid(`entry ${i} is not an object`);
    const str = (name: string): string => {
      const v = goField(item, name);
      if (v === undefined || v === null) return "";
      if (typeof v !== "string") throw invalid(`entry ${i}: ${name} is not a string`);
      return v;
    };
    const list = (name: string): string[] => {
      const v = goField(item, name);
      if (v === undefined || v === null) return [];
      if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) throw invalid(`entry ${i}: ${name} is not a list of strings`);
      return v as string[];
    };
    const parent = str("Parent");
    const sources = goField(item, "LayerSources");
    return {
      Config: str("Config"),
      RepoTags: list("RepoTags"),
      Layers: list("Layers"),
      ...(parent ? { Parent: parent } : {}),
      ...(isJsonObject(sources) ? { LayerSources: sources } : {}),
    };
  });
}
