import { type Digest, digestFromBytes, isDigest, parseDigest } from "@store/digest";
import type { MetadataStore } from "@store/metadata";
import type { RecordFields } from "./image-record";

/** The default key of the record cache in its {@link MetadataStore}. */
export const recordCacheKey = "image-records.json";

/**
 * The format written; a file of another version is rebuilt, not reported. Bump it whenever what
 * restore keeps of a config changes, so that no cache written by older code is trusted.
 */
const version = 3;
/** Numbers per image in `fields`: seconds, nanos, offset, chain index, run config (0/1), labels index. */
const stride = 6;

/**
 * The file's body (after a first line with the sha256 of the rest), shaped so that reading it
 * allocates little per image: IDs in one string in walk order (`algorithm:hex`, comma-separated),
 * every number in one flat array, chain IDs and label sets once each in tables (the images of a
 * store share a few layers and labels), and each config's stamp (see {@link ConfigStamp}) in one
 * string parallel to the IDs (`-` where none was taken).
 */
interface CacheBody {
  v: number;
  chains: string[];
  labels: Record<string, string>[];
  ids: string;
  fields: number[];
  stamps: string;
}

/**
 * A fingerprint of a config's stored bytes, taken without reading them, that changes whenever
 * they may have changed: for a file, its size, inode, mtime and ctime (no write, rename over or
 * touch keeps all four). A cached entry is trusted only while its config's stamp is the one
 * recorded with it; otherwise the config is read and verified again. `undefined`: no stamp could
 * be taken (the entry is not trusted).
 */
export type ConfigStamp = (id: Digest) => string | undefined;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What a record cache holds, handed out image by image as restore walks the content. */
export class CachedRecords {
  /** How many images the cache holds. */
  readonly size: number;
  /** How many of them {@link take} has handed out. */
  hits = 0;
  readonly #ids: string;
  readonly #fields: readonly number[];
  readonly #chains: readonly Digest[];
  readonly #labels: readonly Readonly<Record<string, string>>[];
  readonly #stampText: string;
  #stamps: string[] | undefined;
  /** Where the next ID in walk order starts in #ids, and its index. */
  #pos = 0;
  #next = 0;
  /** Index of the IDs not handed out yet, built once a walk leaves the cache's order. */
  #rest: Map<string, number> | undefined;

  /** @internal Built by {@link readRecordCache} from a body it checked. */
  constructor(body: CacheBody, chains: Digest[]) {
    this.size = body.fields.length / stride;
    this.#ids = body.ids;
    this.#fields = body.fields;
    this.#chains = chains;
    this.#labels = body.labels;
    this.#stampText = body.stamps;
  }

  /**
   * The cached fields of `id`, or undefined when the cache does not hold it or, given a `stamp`,
   * holds it with another stamp (its config changed on disk since: read it again). A walk in the
   * order the cache was written (the backend's) costs one string comparison per image, with no
   * lookup table and no digest parsed: an ID is only ever matched against a `Digest` the walk produced.
   */
  take(id: Digest, stamp?: string): RecordFields | undefined {
    const text = id.toString();
    let i: number;
    if (this.#rest === undefined && this.#startsAt(text)) {
      i = this.#next++;
      this.#pos += text.length + 1;
    } else {
      this.#rest ??= this.#indexRest();
      const found = this.#rest.get(text);
      if (found === undefined) return undefined;
      this.#rest.delete(text);
      i = found;
    }
    if (stamp !== undefined) {
      this.#stamps ??= this.#stampText.split(",");
      if (this.#stamps[i] !== stamp) return undefined;
    }
    this.hits++;
    const f = this.#fields;
    const b = i * stride;
    const chain = f[b + 3]!;
    const labels = f[b + 5]!;
    return {
      created: { seconds: f[b]!, nanos: f[b + 1]!, offset: f[b + 2]! },
      chainId: chain < 0 ? undefined : this.#chains[chain],
      hasRunConfig: f[b + 4] === 1,
      labels: labels < 0 ? undefined : this.#labels[labels],
    };
  }

  #startsAt(text: string): boolean {
    const end = this.#pos + text.length;
    return this.#ids.startsWith(text, this.#pos) && (end === this.#ids.length || this.#ids.charCodeAt(end) === 44);
  }

  #indexRest(): Map<string, number> {
    const rest = new Map<string, number>();
    if (this.#pos < this.#ids.length) {
      let i = this.#next;
      for (const text of this.#ids.slice(this.#pos).split(",")) rest.set(text, i++);
    }
    return rest;
  }
}

/** The record cache read, or why it was not used. */
export interface RecordCacheRead {
  records?: CachedRecords;
  /** The version of the record read (whatever its contents), for the compare-and-swap that replaces it. */
  version?: string;
  /** Set when a file was there but is damaged: what is wrong with it. */
  problem?: string;
}

/**
 * Reads the record cache: what restore kept of each config, by image ID, taken from bytes that
 * were verified against that very ID. The file opens with the sha256 of the rest; a file that
 * does not verify or decode is not used at all, never trusted in part, and reported. A missing
 * file, or one of another format version, is simply not used.
 */
export async function readRecordCache(store: MetadataStore, key = recordCacheKey): Promise<RecordCacheRead> {
  const record = await store.get(key);
  if (!record) return {};
  const { data, version: recordVersion } = record;
  const newline = data.indexOf(10);
  const sum = newline < 0 ? "" : decoder.decode(data.subarray(0, newline));
  if (!isDigest(sum)) return { version: recordVersion, problem: "no checksum line" };
  const body = data.subarray(newline + 1);
  const actual = digestFromBytes(body, parseDigest(sum).algorithm);
  if (!actual.equals(sum)) return { version: recordVersion, problem: `its body hashes to ${actual}, not to the ${sum} it opens with` };
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(body));
  } catch (e) {
    return { version: recordVersion, problem: `not JSON (${(e as Error).message})` };
  }
  if (typeof json !== "object" || json === null) return { version: recordVersion, problem: "not a JSON object" };
  if ((json as { v?: unknown }).v !== version) return { version: recordVersion };
  const problem = checkBody(json as Record<string, unknown>);
  if (problem) return { version: recordVersion, problem };
  const cache = json as CacheBody;
  const chains: Digest[] = [];
  for (const c of cache.chains) {
    if (!isDigest(c)) return { version: recordVersion, problem: `chain ID ${JSON.stringify(c.slice(0, 100))} is not a digest` };
    chains.push(parseDigest(c));
  }
  return { version: recordVersion, records: new CachedRecords(cache, chains) };
}

/** What is wrong with a version-2 body, if anything: the shape, the numbers and every index. */
function checkBody(json: Record<string, unknown>): string | undefined {
  const { chains, labels, ids, fields, stamps } = json;
  if (!Array.isArray(chains) || !chains.every((c) => typeof c === "string")) return "chains is not an array of strings";
  if (!Array.isArray(labels) || !labels.every(isLabels)) return "labels is not an array of string maps";
  if (typeof ids !== "string") return "ids is not a string";
  if (typeof stamps !== "string") return "stamps is not a string";
  if (!Array.isArray(fields) || fields.length % stride !== 0) return `fields is not an array of ${stride} numbers per image`;
  for (let b = 0; b < fields.length; b += stride) {
    for (let k = 0; k < stride; k++) if (typeof fields[b + k] !== "number" || !Number.isSafeInteger(fields[b + k])) return `fields[${b + k}] is not an integer`;
    const chain = fields[b + 3] as number;
    const run = fields[b + 4] as number;
    const label = fields[b + 5] as number;
    if (chain < -1 || chain >= chains.length || (run !== 0 && run !== 1) || label < -1 || label >= labels.length)
      return `image ${b / stride} has an index out of range`;
  }
  const count = fields.length / stride;
  let commas = 0;
  for (let i = ids.indexOf(","); i >= 0; i = ids.indexOf(",", i + 1)) commas++;
  if ((count === 0 ? ids.length : commas + 1) !== (count === 0 ? 0 : count)) return `ids does not list ${count} images`;
  let stampCommas = 0;
  for (let i = stamps.indexOf(","); i >= 0; i = stamps.indexOf(",", i + 1)) stampCommas++;
  if ((count === 0 ? stamps.length : stampCommas + 1) !== (count === 0 ? 0 : count)) return `stamps does not list ${count} images`;
  return undefined;
}

function isLabels(value: unknown): value is Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  for (const v of Object.values(value)) if (typeof v !== "string") return false;
  return true;
}

/** One image for the cache: its ID, its fields, and its config's stamp when one was taken. */
export type CacheEntry = [id: Digest, fields: RecordFields, stamp?: string];

const walkOrder = ([a]: CacheEntry, [b]: CacheEntry) =>
  a.algorithm !== b.algorithm ? (a.algorithm < b.algorithm ? -1 : 1) : a.encoded < b.encoded ? -1 : a.encoded > b.encoded ? 1 : 0;

/**
 * Writes the record cache for `records` (image ID → fields), whole and atomically: created when
 * there was none, else replaced if still at `previous` (the version read). When another process
 * replaced it first, that ERR_METADATA_CONFLICT is thrown; its cache is as good as this one.
 */
export async function writeRecordCache(store: MetadataStore, records: Iterable<CacheEntry>, previous: string | undefined, key = recordCacheKey): Promise<void> {
  // In the backend's walk order, which the next restore follows.
  const sorted = [...records].sort(walkOrder);
  const chains = new Map<string, number>();
  const labels = new Map<string, number>();
  const ids: string[] = [];
  const fields: number[] = [];
  const stamps: string[] = [];
  for (const [id, r, stamp] of sorted) {
    // A stamp never holds a comma (it would shift every later one); one that did is not kept.
    stamps.push(stamp === undefined || stamp.includes(",") ? "-" : stamp);
    let chain = -1;
    if (r.chainId) {
      const key = r.chainId.toString();
      chain = chains.get(key) ?? chains.size;
      if (chain === chains.size) chains.set(key, chain);
    }
    let label = -1;
    if (r.labels) {
      const key = JSON.stringify(r.labels);
      label = labels.get(key) ?? labels.size;
      if (label === labels.size) labels.set(key, label);
    }
    ids.push(id.toString());
    fields.push(r.created.seconds, r.created.nanos, r.created.offset, chain, r.hasRunConfig ? 1 : 0, label);
  }
  const body = encoder.encode(
    `{"v":${version},"chains":${JSON.stringify([...chains.keys()])},"labels":[${[...labels.keys()].join(",")}],"ids":${JSON.stringify(ids.join(","))},"fields":${JSON.stringify(fields)},"stamps":${JSON.stringify(stamps.join(","))}}`,
  );
  const head = encoder.encode(`${digestFromBytes(body)}\n`);
  const file = new Uint8Array(head.byteLength + body.byteLength);
  file.set(head);
  file.set(body, head.byteLength);
  if (previous === undefined) await store.putIfAbsent(key, file);
  else await store.putIfVersion(key, file, previous);
}
