import { join } from "node:path";
import { isStoreError } from "@store/errors";
import type { DeleteResponse, ImageSummary } from "@store/image";
import { progressMessage } from "@store/internal";
import { type NamedReference, parseNormalizedNamed, tagNameOnly, trimNamed, withDigest } from "@store/reference";
import { type ReferenceChange, type SharedState, type SharedTier, inspectShared, listShared, referencesOf, resolveShared } from "@store/shared-tier";
import { type Digest, digestFromBytes, toDigest } from "@store/digest";
import type { PullResult } from "@store/distribution";
import { pullReference } from "./pull-reference";
import type { PullOptions, StoreService } from "./store-service";

/**
 * A store whose images are shared with every other host on the same tier: what this host loads,
 * imports, pulls or tags is published (each blob uploaded once across hosts, then one record);
 * what another host published is listed and inspected here at once, and copied down when
 * something needs its files (save, push, mount, history, a pull of it); a pull looks in the
 * tier before the registry and writes through to it; `rmi` removes references tier-wide.
 * The local root stays a dockerd root throughout.
 */
export function withSharedTier(service: StoreService, tier: SharedTier): StoreService {
  const { images, layers, references, distribution, blobs, imageRoot } = service;
  const publishStores = { images, layers, references, blobs, tempDir: join(service.root, "tmp") };
  const pullStores = { images, layers, references, distribution, blobs };
  const partialDir = join(imageRoot, "partial-downloads");
  const isLocal = (id: string) => images.has(id);
  const publish = (id: Digest, refs?: string[], signal?: AbortSignal) =>
    tier.publish(publishStores, id, { ...(refs ? { references: refs } : {}), ...(signal ? { signal } : {}) });

  /** The local image a name means, copying it from the tier first when only the tier has it. */
  async function local(refOrId: string, signal?: AbortSignal): Promise<void> {
    if (resolvesLocally(service, refOrId)) return;
    const record = resolveShared(await tier.refresh(signal ? { signal } : {}), refOrId);
    if (record) await tier.materialise(pullStores, toDigest(record.id), { partialDir, ...(signal ? { signal } : {}) });
  }

  /**
   * Gives a local image every name the tier has for it: names other hosts gave it before it
   * came here (a tag made while only the tier had it) are then listed with it here too.
   */
  async function adoptNames(id: Digest): Promise<void> {
    if (service.access !== "write") return;
    for (const ref of referencesOf(tier.state(), id)) {
      const named = parseNormalizedNamed(ref);
      if (!currentTarget(service, named)?.equals(id)) await references.add(named, id, true);
    }
  }

  /** Publishes what a registry pull brought (the next host reads the tier, not the registry). */
  async function writeThrough(results: PullResult[], signal?: AbortSignal): Promise<PullResult[]> {
    for (const r of results) {
      await publish(r.id, [r.reference.toString(), withDigest(trimNamed(r.reference), r.digest).toString()], signal);
      await adoptNames(r.id);
    }
    return results;
  }

  /** A pull answered by the tier: the image copied down (unless here), the reference set, docker's last lines. */
  async function fromTier(ref: NamedReference, idText: string, resolved: Digest | undefined, options: PullOptions): Promise<PullResult> {
    const { signal, onProgress } = options;
    const id = toDigest(idText);
    const before = currentTarget(service, ref);
    if (!images.has(id)) {
      await tier.materialise(pullStores, id, {
        partialDir,
        ...(signal ? { signal } : {}),
        ...(onProgress ? { onProgress } : {}),
        ...(options.concurrency ? { concurrency: options.concurrency } : {}),
      });
    } else {
      onProgress?.(progressMessage(`Pulling from ${ref.path}`, ref.tag ?? ref.digest?.toString() ?? "latest"));
    }
    if (!before?.equals(id)) await references.add(ref, id, true);
    const digest = resolved ?? toDigest(tier.state().images.get(idText)?.manifest.digest ?? idText);
    const byDigest = withDigest(trimNamed(ref), digest);
    if (!currentTarget(service, byDigest)) await references.add(byDigest, id, true);
    const updated = !before?.equals(id);
    onProgress?.(progressMessage(`Digest: ${digest}`));
    onProgress?.(progressMessage(`Status: ${updated ? "Downloaded newer image" : "Image is up to date"} for ${ref.familiar}`));
    return { id, reference: ref, digest, updated };
  }

  // Another host moved or removed a reference this host had too: follow it, so one name never
  // means two images across hosts ("rmi removes the references tier-wide").
  // Changes are followed one after another, in the order the tier's states came. One that fails
  // (a disk error) is tried again with the next: `previous` moves only once it is applied.
  let previous: SharedState | undefined;
  let following: Promise<void> = Promise.resolve();
  const names = new ParsedNames();
  const follow = (next: SharedState) => {
    if (service.access !== "write") return;
    following = following.then(async () => {
      try {
        await followReferences(service, previous, next, names);
        previous = next;
      } catch {
        // Kept for the next change.
      }
    });
  };
  follow(tier.state());
  tier.onChange(follow);

  return {
    ...service,
    list(options) {
      const rows = service.list(options);
      const shared = listShared(tier.state(), isLocal, options, (r) => createdOf(service, tier.state(), r));
      if (shared.length === 0) return rows;
      return mergeNewestFirst(rows, shared);
    },
    async inspect(refOrId) {
      try {
        return await service.inspect(refOrId);
      } catch (e) {
        if (!isStoreError(e) || e.kind !== "notFound") throw e;
        const record = resolveShared(tier.state(), refOrId) ?? resolveShared(await tier.refresh(), refOrId);
        if (!record) throw e;
        return inspectShared(tier.blobs, tier.state(), record, service.driverName);
      }
    },
    resolve(refOrId) {
      try {
        return service.resolve(refOrId);
      } catch (e) {
        const record = isStoreError(e) && e.kind === "notFound" ? resolveShared(tier.state(), refOrId) : undefined;
        if (!record) throw e;
        return toDigest(record.id);
      }
    },
    async history(refOrId) {
      await local(refOrId);
      return service.history(refOrId);
    },
    async load(source, options = {}) {
      const result = await service.load(source, options);
      for (const image of result.images) {
        await publish(image.id, undefined, options.signal);
        await adoptNames(image.id);
      }
      return result;
    },
    save(names, options = {}) {
      const { signal } = options;
      return (async function* () {
        for (const name of names) await local(name, signal);
        yield* service.save(names, options);
      })();
    },
    async import(source, options = {}) {
      const result = await service.import(source, options);
      await publish(result.id, undefined, options.signal);
      await adoptNames(result.id);
      return result;
    },
    async pull(name, options = {}) {
      const { signal } = options;
      const opts = signal ? { signal } : {};
      if (options.allTags) return writeThrough(await service.pull(name, options), signal);
      const ref = pullReference(name);
      // What the tag points at now, from the registry (a HEAD: no layer bytes); the tier serves
      // the bytes when it holds that manifest. An unreachable registry leaves the tier's tag.
      let digest = ref.digest;
      if (!digest) {
        try {
          const repo = service.registry.repository(ref, options.credentials ? { credentials: options.credentials } : {});
          digest = (await repo.resolve(ref.tag ?? "latest", opts)).digest;
        } catch (e) {
          if (!isStoreError(e) || e.kind !== "unavailable") throw e;
        }
      }
      const key = digest ? withDigest(trimNamed(ref), digest).toString() : ref.toString();
      const record = resolveShared(await tier.refresh(opts), key);
      if (record) return [await fromTier(ref, record.id, digest, options)];
      // One host pulls from the registry; the others wait for it and copy from the tier. The
      // claim is a small marker blob named by what is pulled: whoever uploads it pulled first.
      const marker = new TextEncoder().encode(`stored pull ${key}\n`);
      const markerDigest = digestFromBytes(marker);
      const hold = await tier.leases.hold([markerDigest], opts);
      let pulled: PullResult[] | undefined;
      try {
        await tier.ensureBlob(
          tier,
          markerDigest,
          async () => {
            pulled = await writeThrough(await service.pull(name, options), signal);
            await tier.blobs.set(marker);
          },
          opts,
        );
      } finally {
        hold.release();
      }
      if (pulled) return pulled;
      const after = resolveShared(await tier.refresh(opts), key);
      if (after) return [await fromTier(ref, after.id, digest, options)];
      return writeThrough(await service.pull(name, options), signal);
    },
    async push(name, options = {}) {
      await local(name, options.signal);
      return service.push(name, options);
    },
    async tag(refOrId, target) {
      if (!resolvesLocally(service, refOrId)) {
        const record = resolveShared(await tier.refresh(), refOrId);
        if (record) {
          const ref = typeof target === "string" ? parseNormalizedNamed(target) : target;
          const named = tagNameOnly(ref);
          await tier.log.append([{ op: "tag", reference: named.toString(), image: record.id }]);
          await tier.refresh();
          return named;
        }
      }
      const named = await service.tag(refOrId, target);
      await publish(references.get(named), [named.toString()]);
      return named;
    },
    async remove(refOrId, options = {}) {
      const state = await tier.refresh();
      if (resolvesLocally(service, refOrId)) {
        // The tier's names for the image are this host's too (another host may have tagged it
        // since the last poll), so the rmi untags as docker would and deletes only with the last.
        const id = service.resolve(refOrId);
        for (const ref of referencesOf(state, id)) {
          const named = parseNormalizedNamed(ref);
          if (!currentTarget(service, named)) await references.add(named, id, true);
        }
        const responses = await service.remove(refOrId, options);
        const changes: ReferenceChange[] = [];
        for (const r of responses) {
          if ("Untagged" in r) changes.push({ op: "untag", reference: parseNormalizedNamed(r.Untagged).toString() });
          else if (state.images.has(r.Deleted)) changes.push({ op: "delete-image", image: r.Deleted });
        }
        if (changes.length > 0) await tier.log.append(changes);
        await tier.refresh();
        return responses;
      }
      const record = resolveShared(state, refOrId);
      if (!record) return service.remove(refOrId, options); // dockerd's "No such image" error
      const refs = referencesOf(state, record.id);
      const named = namedOrUndefined(refOrId);
      const byName = named && refs.includes(named.toString());
      const responses: DeleteResponse[] = [];
      const changes: ReferenceChange[] = [];
      if (byName && refs.filter((r) => !r.includes("@")).length > 1 && !options.force) {
        changes.push({ op: "untag", reference: named!.toString() });
        responses.push({ Untagged: named!.familiar });
      } else {
        for (const r of refs) {
          responses.push({ Untagged: parseNormalizedNamed(r).familiar });
          changes.push({ op: "untag", reference: r });
        }
        changes.push({ op: "delete-image", image: record.id });
        responses.push({ Deleted: record.id });
      }
      await tier.log.append(changes);
      await tier.refresh();
      return responses;
    },
    async mount(refOrId, options) {
      await local(refOrId);
      return service.mount(refOrId, options);
    },
    async close() {
      await tier.close();
      await service.close();
    },
  };
}

function resolvesLocally(service: StoreService, refOrId: string): boolean {
  try {
    service.resolve(refOrId);
    return true;
  } catch {
    return false;
  }
}

function namedOrUndefined(text: string): NamedReference | undefined {
  try {
    const ref = parseNormalizedNamed(text);
    return tagNameOnly(ref);
  } catch {
    return undefined;
  }
}

function currentTarget(service: StoreService, ref: NamedReference): Digest | undefined {
  try {
    return service.references.get(ref);
  } catch {
    return undefined;
  }
}

/** `created` of a local or tier image, for the before/since filters of tier rows. */
function createdOf(service: StoreService, state: SharedState, refOrId: string): string | undefined {
  if (resolvesLocally(service, refOrId)) {
    const created = service.images.record(service.resolve(refOrId))?.created;
    if (created) return new Date(created.seconds * 1000).toISOString();
  }
  return resolveShared(state, refOrId)?.created;
}

/** Two newest-first listings as one (the local one keeps its order among equals). */
function mergeNewestFirst(a: ImageSummary[], b: ImageSummary[]): ImageSummary[] {
  const out: ImageSummary[] = [];
  const sortedB = [...b].sort((x, y) => y.Created - x.Created || (x.Id < y.Id ? -1 : 1));
  let j = 0;
  for (const row of a) {
    while (j < sortedB.length && sortedB[j]!.Created > row.Created) out.push(sortedB[j++]!);
    out.push(row);
  }
  while (j < sortedB.length) out.push(sortedB[j++]!);
  return out;
}

/**
 * Brings this host's references in line with the tier's, so a name means one image on every
 * host: every tier reference to an image this host has points here at it too; one that names an
 * image this host lacks is dropped here if this host had another image under it (the tier's
 * image is listed under the name instead) — except at start (`before` undefined), when local
 * names are left alone; a reference removed from the tier since `before` is removed here if it
 * still meant what the tier had. An image removed from the tier goes here too once nothing here
 * names it.
 */
async function followReferences(service: StoreService, before: SharedState | undefined, after: SharedState, names: ParsedNames): Promise<void> {
  names.keepOnly(after.references);
  for (const [ref, now] of after.references) {
    const named = names.get(ref);
    const here = currentTarget(service, named);
    if (here?.toString() === now) continue;
    if (service.images.has(now)) await service.references.add(named, toDigest(now), true);
    else if (here && before && before.references.get(ref) !== now) await service.references.delete(named);
  }
  if (!before) return;
  for (const [ref, was] of before.references) {
    if (after.references.has(ref)) continue;
    const named = parseNormalizedNamed(ref);
    if (currentTarget(service, named)?.toString() === was) await service.references.delete(named);
  }
  // One in use (a mount) stays, as a local rmi would refuse it.
  for (const id of before.images.keys()) {
    if (after.images.has(id) || !service.images.has(id) || service.references.references(toDigest(id)).length > 0) continue;
    await service.remove(id).catch(() => undefined);
  }
}

/**
 * The tier's references parsed once each: every change walks all of them, and at 10,000
 * references parsing each name again was most of a walk.
 */
class ParsedNames {
  readonly #parsed = new Map<string, NamedReference>();

  get(ref: string): NamedReference {
    let named = this.#parsed.get(ref);
    if (!named) this.#parsed.set(ref, (named = parseNormalizedNamed(ref)));
    return named;
  }

  /** Forgets the names `current` no longer holds. */
  keepOnly(current: ReadonlyMap<string, unknown>): void {
    for (const ref of this.#parsed.keys()) if (!current.has(ref)) this.#parsed.delete(ref);
  }
}
