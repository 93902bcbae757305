import { createHmac, timingSafeEqual } from "node:crypto";
import { type Digest, type DigestLike, isDigest, parseDigest, toDigest } from "@store/digest";
import { isStoreError } from "@store/errors";
import { goJsonString } from "@store/internal";
import { type MetadataStore, MetadataErrorCode, createFsMetadataStore, update } from "@store/metadata";
import { DistributionError, DistributionErrorCode } from "./errors";

/** Where a layer blob was seen: its compressed digest and the repository it came from. */
export interface V2Metadata {
  Digest: Digest;
  SourceRepository: string;
  /** hex HMAC-SHA256 of Digest + SourceRepository under a key derived from credentials; "" when none. */
  HMAC: string;
}

/**
 * Where the metadata lives: dockerd's directory `root` (`<root>/image/<driver>/distribution`),
 * or the records under `prefix` of any metadata store, keyed by dockerd's relative paths
 * (`<prefix>/v2metadata-by-diffid/sha256/<hex>`). A StoreBackend would not do: these records are
 * named by another digest than their content's, and rewritten in place.
 */
export type DistributionMetadataOptions =
  | { root: string }
  | {
      store: MetadataStore;
      /**
       * The directory of the records in the store (default `distribution`: dockerd's layout in a
       * store rooted at `<root>/image/<driver>`); "" for a store of their own.
       */
      prefix?: string;
    };

/** The number of entries kept per diff ID (moby maxMetadata); the oldest go first. */
export const maxV2Metadata = 50;

/** The mode of dockerd's metadata files (moby's FSMetadataStore writes them 0644). */
export const distributionFileMode = 0o644;
/**
 * The mode of a directory of dockerd's distribution metadata, by its path relative to the
 * metadata's root (""): the root itself 0700, the namespaces and algorithms in it 0755, as moby's
 * FSMetadataStore makes them.
 */
export const distributionDirMode = (dir: string): number => (dir === "" ? 0o700 : 0o755);

const diffIdNamespace = "v2metadata-by-diffid";
const digestNamespace = "diffid-by-digest";
const encoder = new TextEncoder();
const decoder = new TextDecoder();
// Each lost round means another writer's change went through: enough for a busy root.
const updateRetries = 100;

/** The HMAC moby tags metadata with (ComputeV2MetadataHMAC); "" without a key. */
export function computeV2MetadataHmac(key: Uint8Array | undefined, meta: Pick<V2Metadata, "Digest" | "SourceRepository">): string {
  if (!key || key.byteLength === 0) return "";
  return createHmac("sha256", key).update(meta.Digest.toString()).update(meta.SourceRepository).digest("hex");
}

/** Whether `meta` was tagged under `key` (moby CheckV2MetadataHMAC). */
export function checkV2MetadataHmac(meta: V2Metadata, key: Uint8Array | undefined): boolean {
  const hasKey = !!key && key.byteLength > 0;
  if (meta.HMAC.length === 0 || !hasKey) return meta.HMAC.length === 0 && !hasKey;
  const expected = Buffer.from(computeV2MetadataHmac(key, meta), "hex");
  const stored = Buffer.from(meta.HMAC, "hex");
  return stored.length === expected.length && /^[0-9a-fA-F]*$/.test(meta.HMAC) && timingSafeEqual(stored, expected);
}

const same = (a: V2Metadata, b: V2Metadata) => a.Digest.equals(b.Digest) && a.SourceRepository === b.SourceRepository && a.HMAC === b.HMAC;

/** The JSON dockerd writes for a metadata list: Go struct field order, compact. */
export function encodeV2Metadata(list: readonly V2Metadata[]): string {
  return `[${list
    .map((m) => `{"Digest":${goJsonString(m.Digest.toString())},"SourceRepository":${goJsonString(m.SourceRepository)},"HMAC":${goJsonString(m.HMAC)}}`)
    .join(",")}]`;
}

/**
 * dockerd's distribution metadata (moby V2MetadataService): for each layer diff ID the blobs
 * (compressed digests and source repositories) it is known by, and for each blob its diff ID,
 * so a push can skip blobs a registry already has and a pull can skip layers already here.
 */
export class DistributionMetadata {
  /** The metadata store holding the records. */
  readonly store: MetadataStore;
  /** Their directory in it ("" when they are at its top). */
  readonly prefix: string;

  constructor(options: DistributionMetadataOptions) {
    if ("store" in options) {
      this.store = options.store;
      this.prefix = options.prefix ?? "distribution";
    } else {
      this.store = createFsMetadataStore({ root: options.root, fileMode: distributionFileMode, dirMode: distributionDirMode });
      this.prefix = "";
    }
  }

  /** What is known of a diff ID; empty when nothing is. */
  async getMetadata(diffIdLike: DigestLike): Promise<V2Metadata[]> {
    const diffId = toDigest(diffIdLike);
    const key = this.#key(diffIdNamespace, diffId);
    const data = (await this.store.get(key))?.data;
    if (!data) return [];
    return this.#decode(key, data);
  }

  /** The diff ID of a blob; ERR_DISTRIBUTION_METADATA_NOT_FOUND when unknown. */
  async getDiffId(blobLike: DigestLike): Promise<Digest> {
    const blob = toDigest(blobLike);
    const key = this.#key(digestNamespace, blob);
    const data = (await this.store.get(key))?.data;
    if (!data) {
      throw new DistributionError(DistributionErrorCode.MetadataNotFound, `no diff ID known for blob ${blob}`, { details: { digest: blob.toString(), key } });
    }
    const text = decoder.decode(data);
    if (!isDigest(text)) {
      throw new DistributionError(DistributionErrorCode.MetadataCorrupt, `${key}: ${JSON.stringify(text.slice(0, 100))} is not a diff ID`, {
        details: { digest: blob.toString(), key },
      });
    }
    return parseDigest(text);
  }

  /**
   * Records `meta` for a diff ID (moved to the end if known; the oldest dropped past 50) and the
   * blob's diff ID. Each record is changed by compare-and-swap, redone on fresh contents when
   * another writer got in between, so concurrent adds lose no entry.
   */
  async add(diffIdLike: DigestLike, meta: V2Metadata): Promise<void> {
    const diffId = toDigest(diffIdLike);
    const key = this.#key(diffIdNamespace, diffId);
    await update(
      this.store,
      key,
      (data) => {
        const old = this.#decodeOrEmpty(key, data);
        return encoder.encode(encodeV2Metadata([...old.filter((m) => !same(m, meta)), meta].slice(-maxV2Metadata)));
      },
      { retries: updateRetries },
    );
    const diffIdBytes = encoder.encode(diffId.toString());
    await update(this.store, this.#key(digestNamespace, meta.Digest), (data) => (data && sameBytes(data, diffIdBytes) ? undefined : diffIdBytes), {
      retries: updateRetries,
    });
  }

  /** {@link add} with the HMAC computed under `hmacKey` (moby TagAndAdd). */
  tagAndAdd(diffId: DigestLike, hmacKey: Uint8Array | undefined, meta: Omit<V2Metadata, "HMAC">): Promise<void> {
    return this.add(diffId, { ...meta, HMAC: computeV2MetadataHmac(hmacKey, meta) });
  }

  /** Forgets one metadata entry; the record goes when it was the last. The blob's diff ID stays, as in moby. */
  async remove(meta: V2Metadata): Promise<void> {
    const diffId = await this.getDiffId(meta.Digest);
    const key = this.#key(diffIdNamespace, diffId);
    for (let attempt = 0; ; attempt++) {
      const current = await this.store.get(key);
      if (!current) return;
      const old = this.#decodeOrEmpty(key, current.data);
      const list = old.filter((m) => !same(m, meta));
      try {
        if (list.length === 0) await this.store.delete(key, { ifVersion: current.version });
        else if (list.length !== old.length) await this.store.putIfVersion(key, encoder.encode(encodeV2Metadata(list)), current.version);
        return;
      } catch (e) {
        if (!isStoreError(e, MetadataErrorCode.Conflict) || attempt >= updateRetries) throw e;
      }
    }
  }

  /** dockerd's relative path of the record for `digest` in `namespace`. */
  #key(namespace: string, digest: Digest): string {
    const key = `${namespace}/${digest.algorithm}/${digest.encoded}`;
    return this.prefix === "" ? key : `${this.prefix}/${key}`;
  }

  /** moby starts afresh over unreadable metadata when it changes it. */
  #decodeOrEmpty(key: string, data: Uint8Array | undefined): V2Metadata[] {
    if (!data) return [];
    try {
      return this.#decode(key, data);
    } catch {
      return [];
    }
  }

  #decode(key: string, data: Uint8Array): V2Metadata[] {
    const corrupt = (why: string, cause?: unknown) =>
      new DistributionError(DistributionErrorCode.MetadataCorrupt, `${key}: ${why}`, { cause, details: { key } });
    let json: unknown;
    try {
      json = JSON.parse(decoder.decode(data));
    } catch (e) {
      throw corrupt(`not JSON (${(e as Error).message})`, e);
    }
    if (json === null) return [];
    if (!Array.isArray(json)) throw corrupt("not a JSON array");
    return json.map((entry, i) => {
      if (typeof entry !== "object" || entry === null || Array.isArray(entry)) throw corrupt(`entry ${i} is not an object`);
      // Go matches field names case-insensitively.
      const get = (name: string) => {
        let v: unknown;
        for (const k of Object.keys(entry)) if (k.toLowerCase() === name) v = (entry as Record<string, unknown>)[k];
        if (v !== undefined && v !== null && typeof v !== "string") throw corrupt(`entry ${i}: ${name} is not a string`);
        return (v as string | undefined) ?? "";
      };
      const digest = get("digest");
      if (!isDigest(digest)) throw corrupt(`entry ${i}: ${JSON.stringify(digest)} is not a digest`);
      return { Digest: parseDigest(digest), SourceRepository: get("sourcerepository"), HMAC: get("hmac") };
    });
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}
