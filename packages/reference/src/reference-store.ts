import { basename, dirname, resolve } from "node:path";
import { type Digest, type DigestLike, isDigest, parseDigest, toDigest } from "@store/digest";
import { isStoreError } from "@store/errors";
import { AsyncMutex } from "@store/internal";
import { type MetadataStore, MetadataErrorCode, createFsMetadataStore, update } from "@store/metadata";
import { ImageReferenceError, ReferenceErrorCode } from "./errors";
import { type NamedReference, parseNormalizedNamed, tagNameOnly, trimNamed, withDigest } from "./reference";
import {
  type ReferenceStoreProblem,
  type RepositoriesState,
  decodeRepositories,
  emptyRepositories,
  encodeRepositories,
  indexReference,
  sameBytes,
  unindexReference,
} from "./repositories-file";
/** A reference and the image it points at. */
export interface Association {
  ref: NamedReference;
  id: Digest;
}

/** dockerd's file, as a record of the metadata store rooted at `<root>/image/<driver>`. */
export const repositoriesKey = "repositories.json";

/**
 * Where the tags live: dockerd's file at `path` (an fs metadata store rooted at its directory,
 * the record named by its file name), or the record `key` of any metadata store (an S3 one for a
 * shared store).
 */
export type ReferenceStoreOptions =
  | {
      /** The repositories.json file (dockerd: `<root>/image/<driver>/repositories.json`). */
      path: string;
      /** How long a change waits for another process's lock on the file (default 30 s). */
      lockTimeoutMs?: number;
    }
  | {
      /** The metadata store holding the tags. */
      store: MetadataStore;
      /** The record holding them (default `repositories.json`, as dockerd names it). */
      key?: string;
      /**
       * Write through a store that does not honour conditional writes (`capabilities.conditional`
       * false). Concurrent changes from other processes or hosts may then be lost; the store itself
       * must also have been opened with `allowUnconditional`. Without this option such a store is
       * refused for writing (ERR_REFERENCE_WRITE_UNSUPPORTED); reading works either way.
       */
      allowUnconditional?: boolean;
    };

/**
 * dockerd's reference (tag) store (moby reference/store.go) over `repositories.json`:
 * `{"Repositories":{"busybox":{"busybox:latest":"sha256:…"}}}`, familiar names, written whole
 * on every change, byte for byte as Go's json.Marshal writes it. Reads are answered from memory;
 * each change is a compare-and-swap of the whole record on the metadata store, redone on the
 * fresh contents when another process or host changed it first, so no tag is lost.
 */
export interface ReferenceStore {
  /** The file, when the store was opened with `path`. */
  readonly path: string | undefined;
  /** The metadata store the tags live in, and their record's key there. */
  readonly metadata: MetadataStore;
  readonly key: string;
  /** Entries of the file that are not valid references or IDs (kept as they are). */
  readonly problems: readonly ReferenceStoreProblem[];
  /**
   * Points a tag or digest reference at an image. A name alone means `:latest`; a reference
   * with both tag and digest stores the digest only (as moby). Moving a tag needs `force`
   * (ERR_REFERENCE_CONFLICT otherwise); a digest reference is never overwritten.
   */
  add(ref: NamedReference | string, id: DigestLike, force?: boolean): Promise<void>;
  /** Removes a reference (a name alone means `:latest`); false when there was none. */
  delete(ref: NamedReference | string): Promise<boolean>;
  /** The image a reference points at; ERR_REFERENCE_NOT_FOUND. */
  get(ref: NamedReference | string): Digest;
  /** The references to an image, sorted by their full string (as moby). */
  references(id: DigestLike): NamedReference[];
  /** The references in the repository named by `ref`, sorted. */
  referencesByName(ref: NamedReference | string): Association[];
  /** Every repository's familiar name, sorted. */
  repositories(): string[];
}

const parse = (ref: NamedReference | string) => (typeof ref === "string" ? parseNormalizedNamed(ref) : ref);

// With a tag and a digest, only the digest is stored or looked up (moby favorDigest).
const favorDigest = (ref: NamedReference) => (ref.digest && ref.tag !== undefined ? withDigest(trimNamed(ref), ref.digest) : ref);

function compareRefs(a: NamedReference, b: NamedReference): number {
  const x = a.toString();
  const y = b.toString();
  return x < y ? -1 : x > y ? 1 : 0;
}

/** What a change computed on one state of the record, applied to memory once it is written. */
interface Plan {
  base: RepositoriesState;
  repos: Map<string, Map<string, string>>;
  /** Updates `byId` of `base` for the change (memory changes only after the write succeeded). */
  reindex(byId: Map<string, NamedReference[]>): void;
}

// Enough for every writer of a busy root to get its turn: each lost round means another writer's
// change went through.
const updateRetries = 100;

/**
 * Opens the reference store: dockerd's `repositories.json` at `path`, or the record `key` of a
 * metadata store. An absent record is created empty, as dockerd does on first start (unless the
 * store is refused for writing); a corrupt one is refused with ERR_REFERENCE_STORE_CORRUPT and
 * left as it is.
 */
export async function createReferenceStore(options: ReferenceStoreOptions): Promise<ReferenceStore> {
  const path = "path" in options ? resolve(options.path) : undefined;
  const store =
    "store" in options
      ? options.store
      : createFsMetadataStore({ root: dirname(path!), ...(options.lockTimeoutMs !== undefined ? { lockTimeoutMs: options.lockTimeoutMs } : {}) });
  const key = "store" in options ? (options.key ?? repositoriesKey) : basename(path!);
  const where = path ?? `${store.name} metadata ${JSON.stringify(key)}`;
  // A compare-and-swap the medium cannot honour would lose other writers' tags silently.
  const writable = store.capabilities.conditional || ("store" in options && options.allowUnconditional === true);
  // One change at a time within this process: they would only lose rounds to each other.
  const lock = new AsyncMutex();

  let state = decodeRepositories((await store.get(key))?.data, where);
  if (state.bytes === undefined && writable) {
    try {
      await store.putIfAbsent(key, emptyRepositories);
      state = decodeRepositories(emptyRepositories, where);
    } catch (e) {
      // Another process created it meanwhile: theirs wins, ours was empty anyway.
      if (!isStoreError(e, MetadataErrorCode.Conflict)) throw e;
      state = decodeRepositories((await store.get(key))?.data, where);
    }
  }

  /** The state the record's current bytes are: memory's when they are the same, else read afresh. */
  const stateOf = (bytes: Uint8Array | undefined): RepositoriesState => (sameBytes(bytes, state.bytes) ? state : decodeRepositories(bytes, where));

  /**
   * A change: read the record, plan on its contents (`plan` returns undefined when nothing is to
   * change, or throws to refuse), write it back if still at the version read, and redo all that
   * when another writer got in between. Memory takes the result only once it is written.
   */
  function change(plan: (base: RepositoriesState) => Plan | undefined): Promise<boolean> {
    if (!writable) {
      return Promise.reject(
        new ImageReferenceError(
          ReferenceErrorCode.WriteUnsupported,
          `${where}: refusing to change tags through the ${store.name} metadata store: it does not honour conditional writes, so a ` +
            "concurrent change by another process could be lost (open the reference store with allowUnconditional to accept that)",
          { details: { key, store: store.name } },
        ),
      );
    }
    return lock.run(async () => {
      let planned: Plan | undefined;
      let seen: RepositoriesState | undefined;
      const record = await update(
        store,
        key,
        (current) => {
          seen = stateOf(current);
          planned = plan(seen);
          return planned && encodeRepositories(planned.repos);
        },
        { retries: updateRetries },
      ).catch(async (e: unknown) => {
        // A refusal computed on fresh contents: memory catches up with them all the same.
        if (seen) state = seen;
        // A write that failed may still have landed (the rename done, the directory's fsync
        // failed): memory takes what the record now holds, so that a caller undoing its work
        // sees the tag it must remove, or keeps the image it points at.
        if (!isStoreError(e) || e.kind === "unavailable" || e.kind === "internal") {
          const now = await store.get(key).catch(() => undefined);
          if (now) state = stateOf(now.data);
        }
        throw e;
      });
      if (!planned) {
        if (seen) state = seen;
        return false;
      }
      const next = planned.base;
      next.repos = planned.repos;
      planned.reindex(next.byId);
      next.bytes = record!.data;
      state = next;
      return true;
    });
  }

  function lookup(ref: NamedReference): string | undefined {
    const k = ref.digest ? favorDigest(ref) : tagNameOnly(ref);
    return state.repos.get(k.familiarName)?.get(k.familiar);
  }

  return {
    path,
    metadata: store,
    key,
    get problems() {
      return state.problems;
    },

    async add(input, idLike, force = false) {
      const id = toDigest(idLike).toString();
      const ref = favorDigest(tagNameOnly(parse(input)));
      const repoName = ref.familiarName;
      const refStr = ref.familiar;
      if (repoName === "sha256") {
        throw new ImageReferenceError(ReferenceErrorCode.Invalid, `refusing to create an ambiguous tag using digest algorithm as name: ${refStr}`, {
          details: { reference: refStr },
        });
      }
      await change((base) => {
        const repo = base.repos.get(repoName);
        const old = repo?.get(refStr);
        if (old !== undefined) {
          if (old === id) return undefined; // nothing changes; moby rewrites the file regardless
          if (ref.digest) {
            throw new ImageReferenceError(ReferenceErrorCode.Conflict, `Cannot overwrite digest ${ref.digest} (${refStr} points at ${old})`, {
              details: { reference: refStr, current: old, requested: id },
            });
          }
          if (!force) {
            throw new ImageReferenceError(
              ReferenceErrorCode.Conflict,
              `Conflict: Tag ${refStr} is already set to image ${old}, if you want to replace it, please use the force option`,
              { details: { reference: refStr, current: old, requested: id } },
            );
          }
        }
        const repos = new Map(base.repos);
        repos.set(repoName, new Map(repo ?? []).set(refStr, id));
        return {
          base,
          repos,
          reindex(byId) {
            if (old !== undefined) unindexReference(byId, refStr, old);
            indexReference(byId, ref, id);
          },
        };
      });
    },

    async delete(input) {
      const ref = favorDigest(tagNameOnly(parse(input)));
      const repoName = ref.familiarName;
      const refStr = ref.familiar;
      return change((base) => {
        const repo = base.repos.get(repoName);
        const id = repo?.get(refStr);
        if (!repo || id === undefined) return undefined;
        const repos = new Map(base.repos);
        const rest = new Map(repo);
        rest.delete(refStr);
        if (rest.size === 0) repos.delete(repoName);
        else repos.set(repoName, rest);
        return { base, repos, reindex: (byId) => unindexReference(byId, refStr, id) };
      });
    },

    get(input) {
      const ref = parse(input);
      const id = lookup(ref);
      if (id === undefined || !isDigest(id)) {
        throw new ImageReferenceError(ReferenceErrorCode.NotFound, `reference does not exist: ${tagNameOnly(ref).familiar}`, {
          details: { reference: ref.familiar },
        });
      }
      return parseDigest(id);
    },

    references(id) {
      return state.byId.get(toDigest(id).toString())?.slice() ?? [];
    },

    referencesByName(input) {
      const repo = state.repos.get(parse(input).familiarName);
      if (!repo) return [];
      const out: Association[] = [];
      for (const [refStr, id] of repo) {
        if (!isDigest(id)) continue;
        try {
          out.push({ ref: parseNormalizedNamed(refStr), id: parseDigest(id) });
        } catch {
          // recorded in problems at load
        }
      }
      return out.sort((a, b) => compareRefs(a.ref, b.ref));
    },

    repositories() {
      return [...state.repos.keys()].sort();
    },
  };
}
