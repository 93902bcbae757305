import { type Digest, digestFromBytes, isDigest, parseDigest } from "@store/digest";
import type { MetadataFiles } from "./distribution-metadata";
import type { GoTime } from "./go-time";
import type { RecordFields } from "./image-record";

/** The key of the record cache in its {@link MetadataFiles}. */
export const recordCacheKey = "image-records.json";

/**
 * One image's fields as the cache stores them, compactly:
 * `[seconds, nanos, offset, chainId | null, hasRunConfig (0/1), labels | null]`.
 */
type CachedFields = [number, number, number, string | null, 0 | 1, Record<string, string> | null];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Reads the record cache: what restore kept of each config, by image ID, taken from bytes that
 * were verified against that very ID. The file opens with the sha256 of the rest; a file that
 * does not verify or decode is ignored (undefined), never trusted in part.
 */
export async function readRecordCache(files: MetadataFiles): Promise<Map<string, RecordFields> | undefined> {
  const data = await files.read(recordCacheKey);
  if (!data) return undefined;
  const newline = data.indexOf(10);
  if (newline < 0) return undefined;
  const sum = decoder.decode(data.subarray(0, newline));
  const body = data.subarray(newline + 1);
  if (!isDigest(sum) || !digestFromBytes(body).equals(sum)) return undefined;
  let json: { v?: unknown; records?: Record<string, CachedFields> };
  try {
    json = JSON.parse(decoder.decode(body));
  } catch {
    return undefined;
  }
  if (json.v !== 1 || typeof json.records !== "object" || json.records === null) return undefined;
  const out = new Map<string, RecordFields>();
  const chains = new Map<string, Digest>();
  for (const [id, f] of Object.entries(json.records)) {
    if (!Array.isArray(f) || f.length !== 6) return undefined;
    const [seconds, nanos, offset, chain, run, labels] = f;
    let chainId: Digest | undefined;
    if (chain !== null) {
      chainId = chains.get(chain);
      if (!chainId) chains.set(chain, (chainId = parseDigest(chain)));
    }
    const created: GoTime = { seconds, nanos, offset };
    out.set(id, { created, chainId, hasRunConfig: run === 1, labels: labels ?? undefined });
  }
  return out;
}

/** Writes the record cache for `records` (image ID → fields), whole and atomically. */
export async function writeRecordCache(files: MetadataFiles, records: Iterable<[string, RecordFields]>): Promise<void> {
  const out: Record<string, CachedFields> = {};
  for (const [id, r] of records) {
    out[id] = [r.created.seconds, r.created.nanos, r.created.offset, r.chainId?.toString() ?? null, r.hasRunConfig ? 1 : 0, r.labels ? { ...r.labels } : null];
  }
  const body = encoder.encode(JSON.stringify({ v: 1, records: out }));
  const head = encoder.encode(`${digestFromBytes(body)}\n`);
  const file = new Uint8Array(head.byteLength + body.byteLength);
  file.set(head);
  file.set(body, head.byteLength);
  await files.write(recordCacheKey, file);
}
