import { createHmac, timingSafeEqual } from "node:crypto";
import { mkdir, readFile, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type Digest, type DigestLike, isDigest, parseDigest, toDigest } from "@store/digest";
import { systemErrorCode } from "@store/errors";
import { atomicWriteFile, goJsonString } from "@store/internal";
import { DistributionError, DistributionErrorCode } from "./errors";

/** Where a layer blob was seen: its compressed digest and the repository it came from. */
export interface V2Metadata {
  Digest: Digest;
  SourceRepository: string;
  /** hex HMAC-SHA256 of Digest + SourceRepository under a key derived from credentials; "" when none. */
  HMAC: string;
}

/**
 * Where the metadata lives: a key-value medium with `/`-separated keys. A {@link BackendDriver}
 * of @store/backend fits as it is (so the metadata can sit on S3 beside a shared store); `{ root }`
 * gives dockerd's own files.
 */
export interface MetadataFiles {
  read(key: string): Promise<Uint8Array | undefined>;
  /** Replaces the value at `key` (what it resolves to is ignored: a BackendDriver reports whether it created). */
  write(key: string, data: Uint8Array): Promise<unknown>;
  remove(key: string): Promise<void>;
}

export type DistributionMetadataOptions = { root: string } | { files: MetadataFiles };

/** The number of entries kept per diff ID (moby maxMetadata); the oldest go first. */
export const maxV2Metadata = 50;

const diffIdNamespace = "v2metadata-by-diffid";
const digestNamespace = "diffid-by-digest";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * dockerd's files, as moby's FSMetadataStore writes them: namespace dirs 0755 under a 0700
 * root, each value an atomic 0644 file. A StoreBackend would not do: it names content by its
 * own digest, and these files are named by another digest and rewritten in place.
 */
export function createFsMetadataFiles(root: string): MetadataFiles {
  let made = false;
  return {
    async read(key) {
      try {
        return new Uint8Array(await readFile(join(root, key)));
      } catch (e) {
        if (systemErrorCode(e) === "ENOENT") return undefined;
        throw e;
      }
    },
    async write(key, data) {
      const path = join(root, key);
      if (!made) {
        await mkdir(root, { recursive: true, mode: 0o700 });
        made = true;
      }
      await mkdir(dirname(path), { recursive: true, mode: 0o755 });
      await atomicWriteFile(path, data, 0o644);
    },
    async remove(key) {
      try {
        await unlink(join(root, key));
      } catch (e) {
        if (systemErrorCode(e) !== "ENOENT") throw e;
      }
    },
  };
}

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

const same = (a: V2Metadata, b: V2Metadata) =>
  a.Digest.equals(b.Digest) && a.SourceRepository === b.SourceRepository && a.HMAC === b.HMAC;

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
  readonly files: MetadataFiles;

  constructor(options: DistributionMetadataOptions) {
    this.files = "files" in options ? options.files : createFsMetadataFiles(options.root);
  }

  /** What is known of a diff ID; empty when nothing is. */
  async getMetadata(diffIdLike: DigestLike): Promise<V2Metadata[]> {
    const diffId = toDigest(diffIdLike);
    const key = `${diffIdNamespace}/${diffId.algorithm}/${diffId.encoded}`;
    const data = await this.files.read(key);
    if (!data) return [];
    return this.#decode(key, data);
  }

  /** The diff ID of a blob; ERR_DISTRIBUTION_METADATA_NOT_FOUND when unknown. */
  async getDiffId(blobLike: DigestLike): Promise<Digest> {
    const blob = toDigest(blobLike);
    const key = `${digestNamespace}/${blob.algorithm}/${blob.encoded}`;
    const data = await this.files.read(key);
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

  /** Records `meta` for a diff ID (moved to the end if known; the oldest dropped past 50) and the blob's diff ID. */
  async add(diffIdLike: DigestLike, meta: V2Metadata): Promise<void> {
    const diffId = toDigest(diffIdLike);
    let old: V2Metadata[];
    try {
      old = await this.getMetadata(diffId);
    } catch {
      old = []; // moby starts afresh over unreadable metadata
    }
    const list = [...old.filter((m) => !same(m, meta)), meta].slice(-maxV2Metadata);
    await this.files.write(`${diffIdNamespace}/${diffId.algorithm}/${diffId.encoded}`, encoder.encode(encodeV2Metadata(list)));
    await this.files.write(`${digestNamespace}/${meta.Digest.algorithm}/${meta.Digest.encoded}`, encoder.encode(diffId.toString()));
  }

  /** {@link add} with the HMAC computed under `hmacKey` (moby TagAndAdd). */
  tagAndAdd(diffId: DigestLike, hmacKey: Uint8Array | undefined, meta: Omit<V2Metadata, "HMAC">): Promise<void> {
    return this.add(diffId, { ...meta, HMAC: computeV2MetadataHmac(hmacKey, meta) });
  }

  /** Forgets one metadata entry; the file goes when it was the last. The blob's diff ID stays, as in moby. */
  async remove(meta: V2Metadata): Promise<void> {
    const diffId = await this.getDiffId(meta.Digest);
    let old: V2Metadata[];
    try {
      old = await this.getMetadata(diffId);
    } catch {
      old = [];
    }
    const list = old.filter((m) => !same(m, meta));
    const key = `${diffIdNamespace}/${diffId.algorithm}/${diffId.encoded}`;
    if (list.length === 0) await this.files.remove(key);
    else await this.files.write(key, encoder.encode(encodeV2Metadata(list)));
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
