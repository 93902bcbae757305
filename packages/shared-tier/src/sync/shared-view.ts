import type { StoreBackend } from "@store/backend";
import { toDigest } from "@store/digest";
import {
  Filters,
  type ImageInspect,
  type ImageSummary,
  type ListOptions,
  compareTime,
  goContainerConfig,
  parseGoTime,
  parseImageConfig,
  unixSeconds,
  zeroTime,
} from "@store/image";
import { familiarMatch, parseNormalizedNamed, tagNameOnly } from "@store/reference";
import type { SharedImageRecord } from "../references/reference-change";
import type { SharedState } from "../references/shared-state";
import { referencesOf } from "./materialise-image";

/**
 * What hosts see of images the shared tier holds and they do not (yet): rows for `docker images`
 * and answers for `docker image inspect`, from the tier's records and configs alone, without
 * copying a layer. Anything that needs the files (save, push, mount, history) copies the image
 * first (`materialiseImage`).
 */

/**
 * The tier's image a name means, as dockerd resolves names: a reference (`busybox` is
 * `…:latest`), else a full or unique short ID (with or without `sha256:`).
 */
export function resolveShared(state: SharedState, refOrId: string): SharedImageRecord | undefined {
  try {
    const id = state.references.get(tagNameOnly(parseNormalizedNamed(refOrId)).toString());
    if (id !== undefined) return state.images.get(id);
  } catch {
    // Not a reference: maybe an ID.
  }
  const hex = refOrId.startsWith("sha256:") ? refOrId.slice(7) : refOrId;
  if (!/^[0-9a-f]{1,64}$/.test(hex)) return undefined;
  const full = state.images.get(`sha256:${hex}`);
  if (full) return full;
  let found: SharedImageRecord | undefined;
  for (const [id, record] of state.images) {
    if (!id.startsWith(`sha256:${hex}`)) continue;
    if (found) return undefined; // ambiguous
    found = record;
  }
  return found;
}

const accepted = ["dangling", "label", "before", "since", "reference"];

/**
 * `GET /images/json` rows for the tier's images that `isLocal` says this host does not have,
 * with the filters `docker images` takes (before/since name a tier or local image: `createdOf`).
 */
export function listShared(
  state: SharedState,
  isLocal: (id: string) => boolean,
  options: ListOptions = {},
  createdOf: (refOrId: string) => string | undefined = (r) => resolveShared(state, r)?.created,
): ImageSummary[] {
  const filters = new Filters(options.filters);
  filters.validate(accepted);
  const danglingOnly = filters.exactMatch("dangling", "true");
  const time = (v: string) => parseGoTime(createdOf(v) ?? "") ?? zeroTime;
  const before = filters.get("before").map(time);
  const since = filters.get("since").map(time);
  const patterns = filters.get("reference");
  const rows: ImageSummary[] = [];
  // Every image's references at once: a lookup per image would walk them all for each.
  const byImage = new Map<string, string[]>();
  for (const [ref, id] of state.references) {
    const refs = byImage.get(id);
    if (refs) refs.push(ref);
    else byImage.set(id, [ref]);
  }
  for (const record of state.images.values()) {
    if (isLocal(record.id)) continue;
    const created = parseGoTime(record.created ?? "") ?? zeroTime;
    if (before.some((t) => compareTime(created, t) >= 0) || since.some((t) => compareTime(created, t) <= 0)) continue;
    if (filters.contains("label") && !filters.matchKVList("label", record.labels)) continue;
    const refs = (byImage.get(record.id) ?? []).sort().map((r) => parseNormalizedNamed(r));
    const shown = patterns.length > 0 ? refs.filter((r) => patterns.some((p) => familiarMatch(p, r))) : refs;
    if (patterns.length > 0 && shown.length === 0) continue;
    const tags = shown.filter((r) => r.isTagged).map((r) => r.familiar);
    const digests = shown.filter((r) => r.isCanonical).map((r) => r.familiar);
    const untagged = tags.length === 0 && digests.length === 0;
    if (filters.contains("dangling") && danglingOnly !== untagged) continue;
    rows.push({
      Containers: -1,
      Created: unixSeconds(created),
      Id: record.id,
      Labels: record.labels ? { ...record.labels } : null,
      ParentId: "",
      RepoDigests: untagged ? ["<none>@<none>"] : digests,
      RepoTags: untagged ? ["<none>:<none>"] : tags,
      SharedSize: -1,
      Size: record.size,
      VirtualSize: record.size,
    });
  }
  return rows;
}

/** `GET /images/{name}/json` of a tier image: its config from the tier, its size from the record. */
export async function inspectShared(blobs: StoreBackend, state: SharedState, record: SharedImageRecord, driverName: string): Promise<ImageInspect> {
  const parsed = parseImageConfig(await blobs.get(toDigest(record.id)), `image config ${record.id}`);
  const config = parsed.config as Record<string, unknown>;
  const text = (key: string) => (typeof config[key] === "string" ? (config[key] as string) : "");
  const refs = referencesOf(state, record.id).map((r) => parseNormalizedNamed(r));
  let comment = text("comment");
  if (comment === "" && parsed.history.length > 0) comment = parsed.history[parsed.history.length - 1]!.comment;
  const runConfig = config.config;
  return {
    Id: record.id,
    RepoTags: refs.filter((r) => r.isTagged).map((r) => r.familiar),
    RepoDigests: refs.filter((r) => r.isCanonical).map((r) => r.familiar),
    Parent: "",
    Comment: comment,
    Created: record.created ?? "0001-01-01T00:00:00Z",
    Container: text("container"),
    ContainerConfig: goContainerConfig(config.container_config),
    DockerVersion: text("docker_version"),
    Author: text("author"),
    Config: typeof runConfig === "object" && runConfig !== null ? goContainerConfig(runConfig) : null,
    Architecture: text("architecture"),
    ...(text("variant") ? { Variant: text("variant") } : {}),
    Os: parsed.os,
    ...(text("os.version") ? { OsVersion: text("os.version") } : {}),
    Size: record.size,
    VirtualSize: record.size,
    // Not unpacked on this host: no driver directories to show yet.
    GraphDriver: { Data: null, Name: driverName },
    RootFS: { Type: parsed.rootFS.type, ...(parsed.rootFS.diffIds.length > 0 ? { Layers: parsed.rootFS.diffIds.map(String) } : {}) },
    Metadata: { LastTagTime: "0001-01-01T00:00:00Z" },
  };
}
