import { type Digest, digestFromString } from "@store/digest";
import { formatGoTime, parseGoTime, type GoTime } from "@store/image";
import { goJsonMap, goJsonString, goJsonStruct } from "@store/internal";
import { goField, isJsonObject } from "./json-fields";

type Json = Record<string, unknown>;

/**
 * moby's image.V1Image, decoded from an image config as Go decodes it (case-insensitive keys,
 * unknown fields dropped) and kept as the raw JSON values it re-encodes. `docker save` writes
 * one per layer (`<v1id>/json`) and hashes it into the layer's v1 ID.
 */
export interface V1Image {
  id: string;
  parent: string;
  comment: string;
  created: GoTime;
  container: string;
  containerConfig: unknown;
  dockerVersion: string;
  author: string;
  config: unknown;
  architecture: string;
  variant: string;
  os: string;
  size: number;
}

/** What moby writes for every layer below an image's top: only a creation time of the epoch. */
export function emptyV1Image(): V1Image {
  return {
    id: "",
    parent: "",
    comment: "",
    created: { seconds: 0, nanos: 0, offset: 0 },
    container: "",
    containerConfig: null,
    dockerVersion: "",
    author: "",
    config: null,
    architecture: "",
    variant: "",
    os: "",
    size: 0,
  };
}

const str = (obj: Json, name: string): string => {
  const v = goField(obj, name);
  return typeof v === "string" ? v : "";
};

/**
 * The V1Image fields of a config. `parent` stays empty: image.Image declares its own `parent`
 * above the embedded V1Image's, and Go gives the key to the shallower field.
 */
export function v1ImageOf(config: Json): V1Image {
  const created = goField(config, "created");
  const size = goField(config, "size");
  return {
    id: str(config, "id"),
    parent: "",
    comment: str(config, "comment"),
    created: (typeof created === "string" && parseGoTime(created)) || { seconds: -62135596800, nanos: 0, offset: 0 },
    container: str(config, "container"),
    containerConfig: goField(config, "container_config") ?? null,
    dockerVersion: str(config, "docker_version"),
    author: str(config, "author"),
    config: goField(config, "config") ?? null,
    architecture: str(config, "architecture"),
    variant: str(config, "variant"),
    os: str(config, "os"),
    size: typeof size === "number" ? size : 0,
  };
}

const omitString = (s: string) => (s === "" ? undefined : goJsonString(s));
const list = (v: unknown) => (typeof v === "string" ? [v] : Array.isArray(v) ? v : null); // strslice takes a lone string
const boolField = (v: unknown) => (v === true ? "true" : "false");

/** moby's container.Config (api/types/container, dockerd 20.10) as Go re-encodes it. */
export function encodeContainerConfig(raw: unknown): string {
  const c: Json = isJsonObject(raw) ? raw : {};
  const get = (name: string) => goField(c, name);
  const s = (name: string) => goJsonString(typeof get(name) === "string" ? (get(name) as string) : "");
  const b = (name: string) => boolField(get(name));
  const strings = (name: string, omitEmpty = false) => {
    const v = list(get(name));
    if (omitEmpty && (v === null || v.length === 0)) return undefined;
    return v === null ? "null" : `[${v.map((x) => goJsonString(String(x))).join(",")}]`;
  };
  const set = (name: string, omitEmpty = false) => {
    const v = get(name);
    if (!isJsonObject(v)) return omitEmpty ? undefined : "null";
    if (omitEmpty && Object.keys(v).length === 0) return undefined;
    return goJsonMap(
      Object.keys(v).map((k) => [k, "{}"] as const),
      (x) => x,
    );
  };
  const labels = () => {
    const v = get("Labels");
    if (!isJsonObject(v)) return "null";
    return goJsonMap(Object.entries(v), (x) => goJsonString(typeof x === "string" ? x : ""));
  };
  const health = () => {
    const h = get("Healthcheck");
    if (!isJsonObject(h)) return undefined;
    const num = (name: string) => {
      const v = goField(h, name);
      return typeof v === "number" && v !== 0 ? String(v) : undefined;
    };
    const test = list(goField(h, "Test"));
    return goJsonStruct([
      ["Test", test && test.length > 0 ? `[${test.map((x) => goJsonString(String(x))).join(",")}]` : undefined],
      ["Interval", num("Interval")],
      ["Timeout", num("Timeout")],
      ["StartPeriod", num("StartPeriod")],
      ["Retries", num("Retries")],
    ]);
  };
  const stopTimeout = get("StopTimeout");
  return goJsonStruct([
    ["Hostname", s("Hostname")],
    ["Domainname", s("Domainname")],
    ["User", s("User")],
    ["AttachStdin", b("AttachStdin")],
    ["AttachStdout", b("AttachStdout")],
    ["AttachStderr", b("AttachStderr")],
    ["ExposedPorts", set("ExposedPorts", true)],
    ["Tty", b("Tty")],
    ["OpenStdin", b("OpenStdin")],
    ["StdinOnce", b("StdinOnce")],
    ["Env", strings("Env")],
    ["Cmd", strings("Cmd")],
    ["Healthcheck", health()],
    ["ArgsEscaped", get("ArgsEscaped") === true ? "true" : undefined],
    ["Image", s("Image")],
    ["Volumes", set("Volumes")],
    ["WorkingDir", s("WorkingDir")],
    ["Entrypoint", strings("Entrypoint")],
    ["NetworkDisabled", get("NetworkDisabled") === true ? "true" : undefined],
    ["MacAddress", omitString(typeof get("MacAddress") === "string" ? (get("MacAddress") as string) : "")],
    ["OnBuild", strings("OnBuild")],
    ["Labels", labels()],
    ["StopSignal", omitString(typeof get("StopSignal") === "string" ? (get("StopSignal") as string) : "")],
    ["StopTimeout", typeof stopTimeout === "number" ? String(stopTimeout) : undefined],
    ["Shell", strings("Shell", true)],
  ]);
}

/** json.Marshal(V1Image): the `<v1id>/json` file of `docker save`. */
export function encodeV1Image(img: V1Image): string {
  return goJsonStruct([
    ["id", omitString(img.id)],
    ["parent", omitString(img.parent)],
    ["comment", omitString(img.comment)],
    ["created", goJsonString(formatGoTime(img.created))],
    ["container", omitString(img.container)],
    // A struct, not a pointer: omitempty never leaves it out.
    ["container_config", encodeContainerConfig(img.containerConfig)],
    ["docker_version", omitString(img.dockerVersion)],
    ["author", omitString(img.author)],
    ["config", isJsonObject(img.config) ? encodeContainerConfig(img.config) : undefined],
    ["architecture", omitString(img.architecture)],
    ["variant", omitString(img.variant)],
    ["os", omitString(img.os)],
    ["Size", img.size !== 0 ? String(img.size) : undefined],
  ]);
}

/**
 * moby's image/v1 CreateID: the V1Image without its id, re-read as a map, with `layer_id` (the
 * chain ID) and `parent` (the parent's v1 ID, when there is one) added, encoded with sorted keys
 * and hashed.
 */
export function createV1Id(img: V1Image, layerId: Digest, parent: Digest | undefined): Digest {
  const members = topLevelMembers(encodeV1Image({ ...img, id: "" }));
  members.set("layer_id", goJsonString(layerId.toString()));
  if (parent) members.set("parent", goJsonString(parent.toString()));
  return digestFromString(goJsonMap(members, (v) => v));
}

/**
 * The top-level members of a compact JSON object with their values as exact text, as Go's
 * map[string]*json.RawMessage keeps them (nested struct fields stay in struct order).
 */
function topLevelMembers(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const add = (member: string) => {
    const colon = member.indexOf('":') + 1;
    out.set(JSON.parse(member.slice(0, colon)) as string, member.slice(colon + 1));
  };
  let depth = 0;
  let inString = false;
  let start = 1;
  for (let i = 1; i < text.length - 1; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === "{" || ch === "[") depth++;
    else if (ch === "}" || ch === "]") depth--;
    else if (ch === "," && depth === 0) {
      add(text.slice(start, i));
      start = i + 1;
    }
  }
  if (text.length > 2) add(text.slice(start, text.length - 1));
  return out;
}
