import { isDigest } from "@store/digest";
import { goJsonMap, goJsonString } from "@store/internal";
import { ImageReferenceError, ReferenceErrorCode } from "./errors";
import { type NamedReference, parseNormalizedNamed } from "./reference";

/** An entry of repositories.json that could not be read; it is kept, untouched, on save. */
export interface ReferenceStoreProblem {
  repository: string;
  reference: string;
  id: string;
  message: string;
}

/**
 * One state of repositories.json in memory: what it maps, indexed by image, and the bytes it was
 * read from or written as (so a change can tell whether the record still holds what memory does).
 */
export interface RepositoriesState {
  /** repository (familiar name) → reference (familiar string) → image ID as written */
  repos: Map<string, Map<string, string>>;
  /** image ID → its references, sorted (an array: most images have one or two) */
  byId: Map<string, NamedReference[]>;
  problems: ReferenceStoreProblem[];
  /** The record's bytes this state is; undefined when there was no record. */
  bytes: Uint8Array | undefined;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What an empty store writes, as dockerd does on first start. */
export const emptyRepositories = encoder.encode('{"Repositories":{}}');

/** The bytes Go's json.Marshal writes for `repos`: compact, keys sorted by bytes, Go's escapes. */
export function encodeRepositories(repos: ReadonlyMap<string, ReadonlyMap<string, string>>): Uint8Array {
  return encoder.encode(`{"Repositories":${goJsonMap(repos, (repo) => goJsonMap(repo, goJsonString))}}`);
}

/**
 * Reads repositories.json as dockerd does (Go decodes "Repositories" case-insensitively, the last
 * matching key winning); ERR_REFERENCE_STORE_CORRUPT naming `where` when it is not its format.
 * Entries that are not valid references or IDs are kept in `repos` and listed in `problems`.
 */
export function decodeRepositories(bytes: Uint8Array | undefined, where: string): RepositoriesState {
  const state: RepositoriesState = { repos: new Map(), byId: new Map(), problems: [], bytes };
  if (bytes === undefined) return state;
  const corrupt = (message: string, cause?: unknown) =>
    new ImageReferenceError(ReferenceErrorCode.StoreCorrupt, `${where}: ${message}; the file is left as it is`, { cause, details: { path: where } });
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(bytes));
  } catch (e) {
    throw corrupt(`not JSON (${(e as Error).message})`, e);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw corrupt("not a JSON object");
  let top: unknown;
  for (const key of Object.keys(json)) if (key.toLowerCase() === "repositories") top = (json as Record<string, unknown>)[key];
  if (top === undefined || top === null) return state;
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
        state.problems.push({ repository: repo, reference: refStr, id, message: (e as Error).message });
        continue;
      }
      if (!isDigest(id)) {
        state.problems.push({ repository: repo, reference: refStr, id, message: `${JSON.stringify(id)} is not an image ID` });
        continue;
      }
      indexReference(state.byId, ref, id);
    }
    state.repos.set(repo, map);
  }
  return state;
}

/** Adds `ref` to the image's sorted references; references are told apart by their familiar string. */
export function indexReference(byId: Map<string, NamedReference[]>, ref: NamedReference, id: string): void {
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

/** Removes the reference `refStr` (familiar) from the image's references. */
export function unindexReference(byId: Map<string, NamedReference[]>, refStr: string, id: string): void {
  const refs = byId.get(id);
  if (!refs) return;
  const i = refs.findIndex((r) => r.familiar === refStr);
  if (i >= 0) refs.splice(i, 1);
  if (refs.length === 0) byId.delete(id);
}

/** Whether two record states hold the same bytes (both absent counts as the same). */
export function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}
