import { decodeRecord, isStringArray, isTime } from "../record-codec";
import type { LeaseRecord } from "./host-leases";

/** Parses the lease record at `key` (ERR_SHARED_CORRUPT when it is not one). */
export function parseLeaseRecord(key: string, data: Uint8Array): LeaseRecord {
  return decodeRecord<LeaseRecord>(key, data, (r) => {
    if (r.v !== 1) return `unknown format version ${JSON.stringify(r.v)}`;
    if (typeof r.host !== "string") return "no host";
    if (!isTime(r.renewed) || !isTime(r.expires)) return "renewed and expires must be RFC 3339 times";
    if (!isStringArray(r.digests)) return "digests must be a list of digests";
    return undefined;
  });
}
