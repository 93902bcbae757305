import type { MetadataStore } from "@store/metadata";
import { SharedKeys } from "../layout";
import { decodeRecord, isStringArray, isTime, readRecord } from "../record-codec";

/** What a collection publishes before it deletes anything (`gc/<run>`). */
export interface CollectionRecord {
  v: 1;
  /** The host collecting. */
  host: string;
  /** "pending" while it may delete; "done" once it will delete nothing more. */
  state: "pending" | "done";
  /** When it started (the collector's clock). */
  started: string;
  /** After this (plus the skew) it deletes nothing, finished or not: waiting writers stop waiting. */
  deadline: string;
  /** When it ended (done only). */
  finished?: string;
  /** Digests it may delete. */
  candidates: string[];
}

/** Parses the collection record at `key` (ERR_SHARED_CORRUPT when it is not one). */
export function parseCollectionRecord(key: string, data: Uint8Array): CollectionRecord {
  return decodeRecord<CollectionRecord>(key, data, (r) => {
    if (r.v !== 1) return `unknown format version ${JSON.stringify(r.v)}`;
    if (typeof r.host !== "string") return "no host";
    if (r.state !== "pending" && r.state !== "done") return `unknown state ${JSON.stringify(r.state)}`;
    if (!isTime(r.started) || !isTime(r.deadline)) return "started and deadline must be RFC 3339 times";
    if (r.finished !== undefined && !isTime(r.finished)) return "finished must be an RFC 3339 time";
    if (!isStringArray(r.candidates)) return "candidates must be a list of digests";
    return undefined;
  });
}

/** Whether the run may still delete at `now`: pending, and not past its deadline plus the skew. */
export function isActive(run: CollectionRecord, now: number, clockSkewMs: number): boolean {
  return run.state === "pending" && Date.parse(run.deadline) + clockSkewMs >= now;
}

/** The keys of the collections that may still delete `digest` at `now`. */
export async function activeCollectionsOf(store: MetadataStore, digest: string, now: number, clockSkewMs: number): Promise<string[]> {
  const active: string[] = [];
  for (const key of await store.list(SharedKeys.gc)) {
    const record = await readRecord(store, key, parseCollectionRecord);
    if (record === undefined) continue;
    const run = record.value;
    if (isActive(run, now, clockSkewMs) && run.candidates.includes(digest)) active.push(key);
  }
  return active;
}
