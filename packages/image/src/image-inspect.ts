import type { Digest } from "@store/digest";
import type { Layer } from "@store/layer";
import { ImageError, ImageErrorCode } from "./errors";
import { type GoTime, formatGoTime, unixSeconds, zeroTime } from "./go-time";
import { configField, configString } from "./image";
import type { ContainerConfig } from "./image-config";
import type { ImageRecord } from "./image-record";
import { type ServiceContext, resolveImageId } from "./resolve-image";

/** `docker inspect` of an image (`GET /images/{name}/json`), fields in dockerd's order. */
export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  /** RFC 3339 with nanoseconds, as written in the config. */
  Created: string;
  Container: string;
  ContainerConfig: ContainerConfig;
  DockerVersion: string;
  Author: string;
  Config: ContainerConfig | null;
  Architecture: string;
  Variant?: string;
  Os: string;
  OsVersion?: string;
  Size: number;
  VirtualSize: number;
  /** In dockerd's field order (Go struct {Data, Name}), Data's keys sorted as Go marshals a map. */
  GraphDriver: { Data: Record<string, string> | null; Name: string };
  RootFS: { Type: string; Layers?: string[] };
  Metadata: { LastTagTime: string };
}

/** One row of `docker history` (`GET /images/{name}/history`), newest first. */
export interface HistoryItem {
  /** The image of this step, or `<missing>` when it is not a local image. */
  Id: string;
  /** Unix seconds. */
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

type Raw = Record<string, unknown>;
const isObject = (v: unknown): v is Raw => typeof v === "object" && v !== null && !Array.isArray(v);

// container.Config's fields in Go's order; `true` marks `omitempty`. Go re-marshals the struct,
// so every field appears (zero-valued) unless omitempty, and unknown keys are dropped.
const containerConfigFields: [string, "string" | "bool" | "list" | "map" | "any", boolean][] = [
  ["Hostname", "string", false],
  ["Domainname", "string", false],
  ["User", "string", false],
  ["AttachStdin", "bool", false],
  ["AttachStdout", "bool", false],
  ["AttachStderr", "bool", false],
  ["ExposedPorts", "map", true],
  ["Tty", "bool", false],
  ["OpenStdin", "bool", false],
  ["StdinOnce", "bool", false],
  ["Env", "list", false],
  ["Cmd", "list", false],
  ["Healthcheck", "any", true],
  ["ArgsEscaped", "bool", true],
  ["Image", "string", false],
  ["Volumes", "map", false],
  ["WorkingDir", "string", false],
  ["Entrypoint", "list", false],
  ["NetworkDisabled", "bool", true],
  ["MacAddress", "string", true],
  ["OnBuild", "list", false],
  ["Labels", "map", false],
  ["StopSignal", "string", true],
  ["StopTimeout", "any", true],
  ["Shell", "list", true],
];

/** A run config as dockerd returns it: Go field order, zero values, maps with sorted keys. */
export function goContainerConfig(raw: unknown): ContainerConfig {
  const src = isObject(raw) ? raw : {};
  const get = (name: string) => {
    let v: unknown;
    const lower = name.toLowerCase();
    for (const k of Object.keys(src)) if (k.toLowerCase() === lower) v = src[k];
    return v;
  };
  const out: Raw = {};
  for (const [name, kind, omitEmpty] of containerConfigFields) {
    let v = get(name);
    if (kind === "string") v = typeof v === "string" ? v : "";
    else if (kind === "bool") v = v === true;
    else if (kind === "list")
      v = typeof v === "string" ? [v] : Array.isArray(v) ? v : null; // strslice takes a lone string too
    else if (kind === "map")
      v = isObject(v)
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, (v as Raw)[k]]),
          )
        : null;
    else v = v ?? null;
    const empty = v === "" || v === false || v === null || (Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0);
    if (omitEmpty && empty) continue;
    out[name] = v;
  }
  return out as ContainerConfig;
}

/** What inspect takes from an image's config and layers: fixed for as long as its record lives. */
type InspectBase = Omit<ImageInspect, "Id" | "RepoTags" | "RepoDigests" | "Parent" | "Metadata">;

/** The last answer given for an image, and what it was made of besides its base. */
interface InspectMemo {
  base: Promise<InspectBase>;
  answer?: ImageInspect;
  lastUpdated?: GoTime | undefined;
}

/**
 * Inspect answers kept per image record. A record is replaced when its image is removed and
 * created again (with a new layer, perhaps), so keying by it drops what the image's config and
 * layers gave; tags, the parent and the last tag time are looked up on each call, and the
 * previous answer is given again, the same object, while they are unchanged.
 */
export type InspectCache = WeakMap<ImageRecord, InspectMemo>;

export const newInspectCache = (): InspectCache => new WeakMap();

async function inspectBase(ctx: ServiceContext, id: Digest, record: ImageRecord): Promise<InspectBase> {
  // Read once per record: the config is verified against its ID on this read, and what was
  // verified stays true for that ID.
  const img = await ctx.images.get(id);
  let comment = configString(img.config, "comment");
  if (comment === "" && img.history.length > 0) comment = img.history[img.history.length - 1]!.comment;
  const runConfig = configField(img.config, "config");
  const variant = configString(img.config, "variant");
  const osVersion = configString(img.config, "os.version");
  return {
    Comment: comment,
    Created: formatGoTime(img.created),
    Container: configString(img.config, "container"),
    ContainerConfig: goContainerConfig(configField(img.config, "container_config")),
    DockerVersion: configString(img.config, "docker_version"),
    Author: configString(img.config, "author"),
    Config: isObject(runConfig) ? goContainerConfig(runConfig) : null,
    Architecture: configString(img.config, "architecture"),
    ...(variant ? { Variant: variant } : {}),
    Os: img.os,
    ...(osVersion ? { OsVersion: osVersion } : {}),
    Size: record.size,
    VirtualSize: record.size,
    GraphDriver: { Data: record.layer ? sortedKeys(await record.layer.metadata()) : null, Name: ctx.driverName },
    RootFS: { Type: img.rootFS.type, ...(img.rootFS.diffIds.length > 0 ? { Layers: img.rootFS.diffIds.map(String) } : {}) },
  };
}

const sameStrings = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * `docker image inspect` (moby's image inspect of the graph-driver image service). With
 * `ctx.inspectCache`, an image unchanged since its last inspect gets the same (frozen) object
 * back, so a caller may keep what it derived from it (the daemon its serialised bytes).
 */
export async function inspectImage(ctx: ServiceContext, refOrId: string): Promise<ImageInspect> {
  const id = resolveImageId(ctx, refOrId);
  const record = ctx.images.record(id)!;
  let memo = ctx.inspectCache?.get(record);
  if (!memo) {
    const base = inspectBase(ctx, id, record);
    memo = { base };
    if (ctx.inspectCache) {
      const cache = ctx.inspectCache;
      cache.set(record, memo);
      // A failed read (a damaged config, a layer gone) is not kept: the next call tries again.
      base.catch(() => {
        if (cache.get(record)?.base === base) cache.delete(record);
      });
    }
  }
  const base = await memo.base;
  const repoTags: string[] = [];
  const repoDigests: string[] = [];
  for (const ref of ctx.references.references(id)) {
    if (ref.isTagged) repoTags.push(ref.familiar);
    else if (ref.isCanonical) repoDigests.push(ref.familiar);
  }
  const lastUpdated = await ctx.images.getLastUpdated(id);
  const parent = record.parent?.toString() ?? "";
  const previous = memo.answer;
  if (
    previous &&
    memo.lastUpdated === lastUpdated &&
    previous.Parent === parent &&
    sameStrings(previous.RepoTags, repoTags) &&
    sameStrings(previous.RepoDigests, repoDigests)
  ) {
    return previous;
  }
  const answer: ImageInspect = Object.freeze({
    Id: id.toString(),
    RepoTags: repoTags,
    RepoDigests: repoDigests,
    Parent: parent,
    ...base,
    Metadata: { LastTagTime: formatGoTime(lastUpdated ?? zeroTime) },
  });
  if (ctx.inspectCache) {
    memo.answer = answer;
    memo.lastUpdated = lastUpdated;
  }
  return answer;
}

/** `docker history` (moby ImageHistory): one row per history entry, newest first. */
export async function imageHistory(ctx: ServiceContext, refOrId: string): Promise<HistoryItem[]> {
  const id = resolveImageId(ctx, refOrId);
  const img = await ctx.images.get(id);
  const chain: Layer[] = [];
  for (let l = ctx.images.record(id)!.layer; l; l = l.parent) chain.unshift(l);
  const items: HistoryItem[] = [];
  let layer = 0;
  for (const h of img.history) {
    let size = 0;
    if (!h.emptyLayer) {
      if (layer >= img.rootFS.diffIds.length) {
        throw new ImageError(ImageErrorCode.InvalidConfig, `image ${id}: too many non-empty layers in History section`, {
          details: { digest: id.toString() },
        });
      }
      size = chain[layer]?.diffSize ?? 0;
      layer++;
    }
    items.unshift({ Id: "<missing>", Created: unixSeconds(h.created), CreatedBy: h.createdBy, Tags: null, Size: size, Comment: h.comment });
  }
  // Name the rows that are local images by walking the parent chain from the top.
  let current: typeof id | undefined = id;
  const seen = new Set<string>();
  for (const item of items) {
    if (!current || seen.has(current.toString()) || !ctx.images.has(current)) break;
    seen.add(current.toString());
    item.Id = current.toString();
    const tags = ctx.references
      .references(current)
      .filter((r) => r.isTagged)
      .map((r) => r.familiar);
    item.Tags = tags.length > 0 ? tags : null;
    current = ctx.images.getParent(current);
  }
  return items;
}

function sortedKeys(map: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.keys(map)
      .sort()
      .map((k) => [k, map[k]!]),
  );
}
