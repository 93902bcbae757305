import { readFileSync, statSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { type Digest, type DigestLike, isDigest, parseDigest, toDigest } from "@store/digest";
import { systemErrorCode } from "@store/errors";
import { ReferenceError, ReferenceErrorCode } from "./errors";
import { AsyncMutex, atomicWriteFile, goJsonMap, goJsonString, withFileLock } from "@store/internal";
import { type NamedReference, parseNormalizedNamed, tagNameOnly, trimNamed, withDigest } from "./reference";

/** A reference and the image it points at. */
export interface Association {
  ref: NamedReference;
  id: Digest;
}

/** An entry of repositories.json that could not be read; it is kept, untouched, on save. */
export interface ReferenceStoreProblem {
  repository: string;
  reference: string;
  id: string;
  message: string;
}

export interface ReferenceStoreOptions {
  /** The repositories.json file (dockerd: `<root>/image/<driver>/repositories.json`). */
  path: string;
}

/**
 * dockerd's reference (tag) store (moby reference/store.go) over `repositories.json`:
 * `{"Repositories":{"busybox":{"busybox:latest":"sha256:…"}}}`, familiar names, written whole
 * and atomically (0600) on every change, byte for byte as Go's json.Marshal writes it.
 */
export interface ReferenceStore {
  readonly path: string;
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

/** Opens (creating when absent) the reference store at `path`. */
export async function createReferenceStore(options: ReferenceStoreOptions): Promise<ReferenceStore> {
  const path = resolve(options.path);
  // repository (familiar name) → reference (familiar string) → image ID as written
  const repos = new Map<string, Map<string, string>>();
  // image ID → its references, sorted (an array: most images have one or two)
  const byId = new Map<string, NamedReference[]>();
  const problems: ReferenceStoreProblem[] = [];
  const lock = new AsyncMutex();

  const corrupt = (message: string, cause?: unknown) =>
    new ReferenceError(ReferenceErrorCode.StoreCorrupt, `${path}: ${message}; the file is left as it is`, {
      cause,
      details: { path },
    });

  // Changes take `<path>.lock` and re-read the file when another process wrote it since: several
  // `store` processes on one root must not lose each other's tags (dockerd, a single process,
  // never needed this). The stamp tells whether the file on disk is the one in memory.
  const lockPath = `${path}.lock`;
  let stamp: string | undefined;
  const currentStamp = (): string | undefined => {
    try {
      const st = statSync(path);
      return `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch (e) {
      if (systemErrorCode(e) === "ENOENT") return undefined;
      throw e;
    }
  };

  const opened = readIfPresent();
  if (opened === undefined) {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await withFileLock(lockPath, async () => {
      // Another process may have created it meanwhile: theirs wins, ours was empty anyway.
      const raced = readIfPresent();
      if (raced === undefined) await save();
      else load(raced);
    });
  } else {
    load(opened);
  }

  // Synchronously: one file, read once at open; the promise API costs several thread-pool round
  // trips, and a process that lists images is waiting for nothing else.
  function readIfPresent(): string | undefined {
    try {
      const before = currentStamp();
      const text = readFileSync(path, "utf8");
      stamp = before;
      return text;
    } catch (e) {
      if (systemErrorCode(e) !== "ENOENT") throw e;
      return undefined;
    }
  }

  /** Under the file lock: picks up what other processes wrote since this one last read or wrote. */
  function refresh(): void {
    if (currentStamp() === stamp) return;
    const text = readIfPresent();
    repos.clear();
    byId.clear();
    problems.length = 0;
    if (text !== undefined) load(text);
  }

  // References are told apart by their familiar string: what repositories.json is keyed by.
  function index(ref: NamedReference, id: string): void {
    const refs = byId.get(id);
    if (!refs) {
      byId.set(id, [ref]);
      return;
    }
    const key = ref.toString();
    let i = refs.length;
    while (i > 0 && refs[i - 1]!.toString() > key) i--;
    if (i > 0 && refs[i - 1]!.familiar === ref.familiar) return;
    refs.splice(i, 0, ref);
  }

  function unindex(refStr: string, id: string): void {
    const refs = byId.get(id);
    if (!refs) return;
    const i = refs.findIndex((r) => r.familiar === refStr);
    if (i >= 0) refs.splice(i, 1);
    if (refs.length === 0) byId.delete(id);
  }

  function load(source: string): void {
    let json: unknown;
    try {
      json = JSON.parse(source);
    } catch (e) {
      throw corrupt(`not JSON (${(e as Error).message})`, e);
    }
    if (typeof json !== "object" || json === null || Array.isArray(json)) throw corrupt("not a JSON object");
    // Go decodes "Repositories" case-insensitively, the last matching key winning.
    let top: unknown;
    for (const key of Object.keys(json)) if (key.toLowerCase() === "repositories") top = (json as Record<string, unknown>)[key];
    if (top === undefined || top === null) return;
    if (typeof top !== "object" || Array.isArray(top)) throw corrupt("Repositories is not an object");
    for (const [repo, entries] of Object.entries(top)) {
      if (entries === null) continue;
      if (typeof entries !== "object" || Array.isArray(entries)) throw corrupt(`repository ${JSON.stringify(repo)} is not an object`);
      const map = new Map<string, string>();
      for (const refStr of Object.keys(entries)) {
        const id = (entries as Record<string, unknown>)[refStr];
        if (typeof id !== "string") throw corrupt(`${JSON.stringify(refStr)} does not map to a string`);
        map.set(refStr, id);
        let ref: NamedReference;
        try {
          ref = parseNormalizedNamed(refStr);
        } catch (e) {
          problems.push({ repository: repo, reference: refStr, id, message: (e as Error).message });
          continue;
        }
        if (!isDigest(id)) {
          problems.push({ repository: repo, reference: refStr, id, message: `${JSON.stringify(id)} is not an image ID` });
          continue;
        }
        index(ref, id);
      }
      repos.set(repo, map);
    }
  }

  async function save(): Promise<void> {
    const body = goJsonMap(repos, (repo) => goJsonMap(repo, goJsonString));
    await atomicWriteFile(path, `{"Repositories":${body}}`, 0o600);
    stamp = currentStamp();
  }

  /** Applies a change, saves, and undoes the change in memory when the save fails. */
  async function commit(apply: () => () => void): Promise<void> {
    const undo = apply();
    try {
      await save();
    } catch (e) {
      undo();
      throw e;
    }
  }

  /** A change: this process's turn (mutex), then the machine's (lock file), on fresh contents. */
  function change<T>(fn: () => Promise<T>): Promise<T> {
    return lock.run(() =>
      withFileLock(lockPath, async () => {
        refresh();
        return fn();
      }),
    );
  }

  function lookup(ref: NamedReference): string | undefined {
    const key = ref.digest ? favorDigest(ref) : tagNameOnly(ref);
    return repos.get(key.familiarName)?.get(key.familiar);
  }

  return {
    path,
    problems,

    async add(input, idLike, force = false) {
      const id = toDigest(idLike);
      const ref = favorDigest(tagNameOnly(parse(input)));
      const repoName = ref.familiarName;
      const refStr = ref.familiar;
      if (repoName === "sha256") {
        throw new ReferenceError(ReferenceErrorCode.Invalid, `refusing to create an ambiguous tag using digest algorithm as name: ${refStr}`, {
          details: { reference: refStr },
        });
      }
      return change(async () => {
        const repo = repos.get(repoName);
        const old = repo?.get(refStr);
        if (old !== undefined) {
          if (old === id.toString()) return; // nothing changes; moby rewrites the file regardless
          if (ref.digest) {
            throw new ReferenceError(ReferenceErrorCode.Conflict, `Cannot overwrite digest ${ref.digest} (${refStr} points at ${old})`, {
              details: { reference: refStr, current: old, requested: id.toString() },
            });
          }
          if (!force) {
            throw new ReferenceError(
              ReferenceErrorCode.Conflict,
              `Conflict: Tag ${refStr} is already set to image ${old}, if you want to replace it, please use the force option`,
              { details: { reference: refStr, current: old, requested: id.toString() } },
            );
          }
        }
        await commit(() => {
          const created = !repo;
          const map = repo ?? new Map<string, string>();
          if (created) repos.set(repoName, map);
          if (old !== undefined) unindex(refStr, old);
          map.set(refStr, id.toString());
          index(ref, id.toString());
          return () => {
            unindex(refStr, id.toString());
            if (old !== undefined) {
              map.set(refStr, old);
              index(ref, old);
            } else map.delete(refStr);
            if (created) repos.delete(repoName);
          };
        });
      });
    },

    async delete(input) {
      const ref = favorDigest(tagNameOnly(parse(input)));
      return change(async () => {
        const repoName = ref.familiarName;
        const refStr = ref.familiar;
        const repo = repos.get(repoName);
        const id = repo?.get(refStr);
        if (!repo || id === undefined) return false;
        await commit(() => {
          repo.delete(refStr);
          if (repo.size === 0) repos.delete(repoName);
          unindex(refStr, id);
          return () => {
            repo.set(refStr, id);
            repos.set(repoName, repo);
            index(ref, id);
          };
        });
        return true;
      });
    },

    get(input) {
      const ref = parse(input);
      const id = lookup(ref);
      if (id === undefined || !isDigest(id)) {
        throw new ReferenceError(ReferenceErrorCode.NotFound, `reference does not exist: ${tagNameOnly(ref).familiar}`, {
          details: { reference: ref.familiar },
        });
      }
      return parseDigest(id);
    },

    references(id) {
      return byId.get(toDigest(id).toString())?.slice() ?? [];
    },

    referencesByName(input) {
      const repo = repos.get(parse(input).familiarName);
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
      return [...repos.keys()].sort();
    },
  };
}
