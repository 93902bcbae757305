import { decodeRecord, isTime } from "../record-codec";

/** What a claim of the right to upload a blob says (`ingest/<hex>/…`). */
export interface ClaimRecord {
  v: 1;
  /** The host uploading. */
  host: string;
  /** This upload (a host may ensure one digest twice at once), so an owner knows its own claim. */
  id: string;
  /** When it was claimed (the host's clock). */
  at: string;
  /** Until when it holds unless renewed: another host takes over after this (plus the skew). */
  expires: string;
}

/**
 * Parses the claim at `key`. A claim that does not parse is treated as long expired (it is a
 * lock, not data: taking it over loses nothing), so a damaged one never blocks an upload.
 */
export function parseClaimRecord(key: string, data: Uint8Array): ClaimRecord {
  try {
    return decodeRecord<ClaimRecord>(key, data, (r) => {
      if (r.v !== 1) return `unknown format version ${JSON.stringify(r.v)}`;
      if (typeof r.host !== "string" || typeof r.id !== "string") return "no host or id";
      if (!isTime(r.at) || !isTime(r.expires)) return "at and expires must be RFC 3339 times";
      return undefined;
    });
  } catch {
    return { v: 1, host: "", id: "", at: new Date(0).toISOString(), expires: new Date(0).toISOString() };
  }
}
