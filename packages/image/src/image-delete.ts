import type { Digest } from "@store/digest";
import { isStoreError } from "@store/errors";
import type { LayerMetadata } from "@store/layer";
import { ImageError, ImageErrorCode } from "./errors";
import { compareTime, parseGoTime } from "./go-time";
import { type FilterInput, Filters } from "./list-filters";
import { type NamedReference, parseNormalizedNamed, tagNameOnly } from "@store/reference";
import { type ServiceContext, resolveImageId, truncateId } from "./resolve-image";

/** One entry of `DELETE /images/{name}`'s answer. */
export type DeleteResponse = { Untagged: string } | { Deleted: string };

export interface RemoveOptions {
  /** Remove even when tagged in several repositories or used by stopped containers (`-f`). */
  force?: boolean;
  /** Also delete untagged parents left without children (on unless `--no-prune`). */
  prune?: boolean;
}

export interface PruneOptions {
  /** Every unused image, not only dangling ones (`docker image prune -a`). */
  all?: boolean;
  /** `label`, `label!` (key or key=value), `until` (RFC 3339, Unix seconds or a Go duration back from now). */
  filters?: FilterInput;
}

/** `POST /images/prune`'s answer. */
export interface PruneReport {
  ImagesDeleted: DeleteResponse[];
  /** Bytes of the layers removed. */
  SpaceReclaimed: number;
}

// moby's conflict classes: hard ones cannot be forced, soft ones can.
const conflictDependentChild = 1;
const conflictRunningContainer = 2;
const conflictActiveReference = 4;
const conflictStoppedContainer = 8;
const conflictHard = conflictDependentChild | conflictRunningContainer;
const conflictSoft = conflictActiveReference | conflictStoppedContainer;

interface Conflict {
  error: ImageError;
  used: boolean;
}

interface Outcome {
  records: DeleteResponse[];
  removedLayers: LayerMetadata[];
}

function conflict(id: Digest, hard: boolean, message: string, used = false): Conflict {
  const text = `conflict: unable to delete ${truncateId(id.toString())} (${hard ? "cannot be forced" : "must be forced"}) - ${message}`;
  return { used, error: new ImageError(ImageErrorCode.Conflict, text, { details: { digest: id.toString(), hard } }) };
}

function checkConflict(ctx: ServiceContext, id: Digest, mask: number): Conflict | undefined {
  if (mask & conflictDependentChild && ctx.images.childCount(id) > 0) {
    return conflict(id, true, "image has dependent child images");
  }
  const using = [...ctx.containers()].filter((c) => c.imageId.equals(id));
  const running = using.find((c) => c.running);
  if (mask & conflictRunningContainer && running) {
    return conflict(id, true, `image is being used by running container ${truncateId(running.id)}`, true);
  }
  if (mask & conflictActiveReference && ctx.references.references(id).length > 0) {
    return conflict(id, false, "image is referenced in multiple repositories");
  }
  const stopped = using.find((c) => !c.running);
  if (mask & conflictStoppedContainer && stopped) {
    return conflict(id, false, `image is being used by stopped container ${truncateId(stopped.id)}`, true);
  }
  return undefined;
}

/** All references within one repository and at most one tag (moby isSingleReference). */
function isSingleReference(refs: NamedReference[]): boolean {
  if (refs.length <= 1) return refs.length === 1;
  let single: NamedReference | undefined;
  const canonical = new Set<string>();
  for (const ref of refs) {
    if (ref.isCanonical) canonical.add(ref.name);
    else if (!single) single = ref;
    else return false;
  }
  single ??= refs[0]!;
  return canonical.size === 1 && canonical.has(single.name);
}

function isImageIdPrefix(id: string, prefix: string): boolean {
  if (id.startsWith(prefix)) return true;
  const colon = id.indexOf(":");
  return colon >= 0 && id.slice(colon + 1).startsWith(prefix);
}

async function untag(ctx: ServiceContext, ref: NamedReference, out: Outcome): Promise<NamedReference> {
  const named = tagNameOnly(ref);
  await ctx.references.delete(named); // idempotent, as moby's removeImageRef
  out.records.push({ Untagged: named.familiar });
  return named;
}

/**
 * moby's imageDeleteHelper: delete an image unless a conflict stops it; with `prune`, then its
 * untagged parent, quietly. `quiet` swallows conflicts unless the image is dangling and unused.
 */
async function deleteHelper(ctx: ServiceContext, id: Digest, out: Outcome, force: boolean, prune: boolean, quiet: boolean): Promise<void> {
  const c = checkConflict(ctx, id, force ? conflictHard : conflictHard | conflictSoft);
  if (c) {
    const dangling = ctx.references.references(id).length === 0 && ctx.images.childCount(id) === 0;
    if (quiet && (!dangling || c.used)) return;
    throw c.error;
  }
  const parent = ctx.images.getParent(id);
  for (const ref of ctx.references.references(id)) await untag(ctx, ref, out);
  const removed = await ctx.images.delete(id);
  out.records.push({ Deleted: id.toString() });
  for (const layer of removed) out.records.push({ Deleted: layer.chainId.toString() });
  out.removedLayers.push(...removed);
  if (prune && parent && ctx.images.has(parent)) await deleteHelper(ctx, parent, out, false, true, true);
}

async function removeDetailed(ctx: ServiceContext, refOrId: string, options: RemoveOptions): Promise<Outcome> {
  const force = options.force ?? false;
  const prune = options.prune ?? true;
  const out: Outcome = { records: [], removedLayers: [] };
  const id = resolveImageId(ctx, refOrId);
  let refs = ctx.references.references(id);
  let removedRepositoryRef = false;

  if (!isImageIdPrefix(id.toString(), refOrId)) {
    // A reference was given: it goes first, unless it is the last one and a container uses the image.
    if (!force && isSingleReference(refs)) {
      const user = [...ctx.containers()].find((c) => c.imageId.equals(id));
      if (user) {
        throw new ImageError(
          ImageErrorCode.Conflict,
          `conflict: unable to remove repository reference ${JSON.stringify(refOrId)} (must force) - container ${truncateId(user.id)} is using its referenced image ${truncateId(id.toString())}`,
          { details: { digest: id.toString(), reference: refOrId } },
        );
      }
    }
    const parsed = await untag(ctx, parseNormalizedNamed(refOrId), out);
    refs = ctx.references.references(id);
    // Untagging the last tag of a repository also drops that repository's digest references.
    if (!parsed.isCanonical && !refs.some((r) => !r.isCanonical && r.name === parsed.name)) {
      const remaining: NamedReference[] = [];
      for (const r of refs) {
        if (r.isCanonical && r.name === parsed.name) await untag(ctx, r, out);
        else remaining.push(r);
      }
      refs = remaining;
    }
    if (refs.length > 0) return out;
    removedRepositoryRef = true;
  } else if (isSingleReference(refs)) {
    // By ID with one tag (and digests of its repository): drop them all.
    const c = checkConflict(ctx, id, force ? conflictHard : conflictHard | (conflictSoft & ~conflictActiveReference));
    if (c) throw c.error;
    for (const r of refs) await untag(ctx, r, out);
  }
  await deleteHelper(ctx, id, out, force, prune, removedRepositoryRef);
  return out;
}

/**
 * `docker rmi` (moby ImageDelete): by reference, untag, and delete the image once no reference
 * is left; by ID, delete, refusing (ERR_IMAGE_CONFLICT) an image with dependent children or
 * running containers, and without `force` one tagged in several repositories or used by
 * stopped containers. Returns the untagged references and deleted images and layers in order.
 */
export async function removeImage(ctx: ServiceContext, refOrId: string, options: RemoveOptions = {}): Promise<DeleteResponse[]> {
  return (await removeDetailed(ctx, refOrId, options)).records;
}

const durationPart = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g;
const unitNanos: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** docker's timestamp.Parse for `until`: a Go duration back from now, Unix seconds, or RFC 3339. */
function parseUntil(value: string, now = Date.now()): { seconds: number; nanos: number; offset: number } {
  if (/^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)(?:(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))*$/.test(value)) {
    let nanos = 0;
    for (const m of value.matchAll(durationPart)) nanos += Number(m[1]) * unitNanos[m[2]!]!;
    const ms = now - nanos / 1e6;
    return { seconds: Math.floor(ms / 1000), nanos: Math.round((ms % 1000) * 1e6), offset: 0 };
  }
  if (/^\d+(\.\d{1,9})?$/.test(value)) {
    const [s, f = ""] = value.split(".");
    return { seconds: Number(s), nanos: Number(f.padEnd(9, "0")), offset: 0 };
  }
  const t = parseGoTime(value);
  if (!t) {
    throw new ImageError(ImageErrorCode.InvalidFilter, `invalid value for 'until' filter: ${JSON.stringify(value)}`, {
      details: { filter: "until", value },
    });
  }
  return t;
}

/**
 * `docker image prune` (moby ImagePrune): deletes dangling images (with `all`, every image no
 * container uses), skipping intermediate ones, each with its untagged parents; conflicts are
 * skipped quietly. SpaceReclaimed sums the removed layers' own sizes.
 */
export async function pruneImages(ctx: ServiceContext, options: PruneOptions = {}): Promise<PruneReport> {
  const filters = new Filters(options.filters);
  filters.validate(["dangling", "label", "label!", "until"]);
  const danglingOnly = options.all ? false : filters.boolean("dangling", true);
  const untilValues = filters.get("until");
  if (untilValues.length > 1) {
    throw new ImageError(ImageErrorCode.InvalidFilter, "more than one until filter specified", { details: { filter: "until" } });
  }
  const until = untilValues.length === 1 ? parseUntil(untilValues[0]!) : undefined;

  const candidates = ctx.images.records().filter((r) => {
    const children = ctx.images.childCount(r.id);
    if (danglingOnly && children > 0) return false; // moby starts from Heads()
    if (ctx.references.references(r.id).length === 0 && children > 0) return false;
    if (until && compareTime(r.created, until) > 0) return false;
    if (r.hasRunConfig) {
      if (!filters.matchKVList("label", r.labels)) return false;
      if (filters.contains("label!") && filters.matchKVList("label!", r.labels)) return false;
    }
    return true;
  });

  const report: PruneReport = { ImagesDeleted: [], SpaceReclaimed: 0 };
  const attempt = async (target: string) => {
    try {
      const outcome = await removeDetailed(ctx, target, { prune: true });
      report.ImagesDeleted.push(...outcome.records);
      for (const l of outcome.removedLayers) report.SpaceReclaimed += l.diffSize;
    } catch (e) {
      // moby skips images it cannot delete (conflicts, images gone meanwhile) and carries on
      if (!isStoreError(e, [ImageErrorCode.Conflict, ImageErrorCode.NotFound])) throw e;
    }
  };
  for (const r of candidates) {
    if (!ctx.images.has(r.id)) continue; // deleted meanwhile as some other image's parent
    const refs = ctx.references.references(r.id);
    if (refs.length > 0) {
      if (danglingOnly && refs.some((ref) => ref.isTagged)) continue;
      for (const ref of refs) await attempt(ref.toString());
    } else {
      await attempt(r.id.encoded);
    }
  }
  return report;
}
