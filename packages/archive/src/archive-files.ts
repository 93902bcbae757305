import { type Digest, chainId, hashingStream, parseDigest } from "@store/digest";
import { isStoreError } from "@store/errors";
import { type Layer, LayerErrorCode, type LayerStore, type StagedLayer, decompress, detectCompression, peekHead } from "@store/layer";
import { parseTar } from "@store/tar-split";
import { archivePath, linkTarget } from "./archive-path";
import { type DockerManifestItem, parseDockerManifest } from "./docker-manifest";
import { ArchiveError, ArchiveErrorCode } from "./errors";
import { goField, isJsonObject } from "./json-fields";
import { parseOciDocument } from "./oci-layout";
import type { Spool } from "./spool";

/** What the reader kept of one regular file of the archive. */
export type StoredFile =
  /** Small files (JSON, VERSION, small layers) are kept whole. */
  | { kind: "memory"; bytes: Uint8Array }
  /** Large files nothing could use yet, written to a temp file. */
  | { kind: "spool"; file: string; size: number }
  /**
   * A layer registered straight from the stream (or, for a blob named by the diff ID a config
   * expects, found already in the store without reading it). `blobDigest` is the sha256 of the
   * bytes as they were in the archive (compressed, if they were), when they were read.
   */
  | { kind: "layer"; layer: Layer; size: number; blobDigest?: Digest }
  /**
   * A layer file that arrived before the archive said what it goes on, extracted already
   * (`LayerStore.stage`) and stacked once the manifest is read; the alternative, spooling it
   * to disk and reading it back, cost a fifth of a classic `docker save` load.
   */
  | { kind: "staged"; staged: StagedLayer; size: number; blobDigest?: Digest }
  /**
   * A blob that looked like a layer but did not extract: an error only if a manifest names it
   * (an archive may carry other blobs, and docker load ignores what it does not use).
   */
  | { kind: "unreadable"; error: Error };

type Entry = StoredFile | { kind: "link"; target: string | null };

/** Where a layer file probably sits: on top of the layer file at `parent` (null: a base layer). */
interface Hint {
  parent: string | null;
  /** From manifest.json or an OCI manifest (authoritative), or guessed from v1 `json` files or a config. */
  strength: "manifest" | "guess";
  /** The diff ID this file must have, when the archive names blobs by diff ID (Docker 25+). */
  diffId?: Digest;
}

export interface LayerProgress {
  /** A short name for the layer: the first 12 characters of its v1 ID or blob digest. */
  id: string;
  action: "Loading layer";
  /** Bytes of the archive entry read so far, and its size. */
  current: number;
  total: number;
}

export interface ArchiveFilesOptions {
  layers: LayerStore;
  spool: Spool;
  onProgress?: (progress: LayerProgress) => void;
  signal?: AbortSignal;
}

// Files up to this size are kept in memory; larger ones are layers to register or spool.
const SMALL_FILE = 1 << 20;
// Metadata files are kept in memory whatever their size, up to this bound.
const MAX_METADATA_FILE = 64 << 20;
const MAX_LINK_HOPS = 40;
const decoder = new TextDecoder();

function isMetadataName(path: string): boolean {
  return (
    path === "manifest.json" ||
    path === "index.json" ||
    path === "oci-layout" ||
    path === "repositories" ||
    path.endsWith(".json") ||
    path.endsWith("/json") ||
    path.endsWith("/VERSION")
  );
}

/** The short name progress shows for a layer file: `<v1id>/layer.tar` → v1id, `blobs/sha256/<hex>` → hex. */
export function progressId(path: string): string {
  const parts = path.split("/");
  const name = parts[0] === "blobs" ? parts.at(-1)! : parts.length > 1 ? parts.at(-2)! : parts[0]!;
  return name.slice(0, 12);
}

/**
 * The files of an archive as it streams by. Small files are kept in memory; a large file is a
 * layer, and is registered into the layer store at once when the archive has already said where
 * it goes (its parent is registered), or spooled to a temp file otherwise. What said where it
 * goes: `manifest.json` or an OCI manifest seen earlier (skopeo writes them first), or, as a
 * guess checked later, the v1 `json` before each `layer.tar` of a classic `docker save`
 * (its `parent`) and a config naming blobs by diff ID (Docker 25+).
 */
export class ArchiveFiles {
  private readonly entries = new Map<string, Entry>();
  private readonly hints = new Map<string, Hint>();
  /** Every layer handle taken while reading; the caller releases them. */
  readonly handles: Layer[] = [];
  /** Every layer staged while reading; the caller discards what was not committed. */
  private readonly staged: StagedLayer[] = [];
  manifest: DockerManifestItem[] | undefined;

  constructor(private readonly options: ArchiveFilesOptions) {}

  /** Reads the whole archive (plain or gzip/zstd-compressed tar). */
  async read(source: AsyncIterable<Uint8Array>): Promise<void> {
    let current = "";
    try {
      for await (const entry of parseTar(decompress(source))) {
        this.options.signal?.throwIfAborted();
        const h = entry.header;
        current = h.name;
        const path = archivePath(h.name, "archive entry");
        if (h.type === "symlink") {
          this.entries.set(path, { kind: "link", target: linkTarget(path, h.linkname) });
        } else if (h.type === "hardlink") {
          this.entries.set(path, { kind: "link", target: archivePath(h.linkname, `hardlink ${path}`) });
        } else if (h.type === "file") {
          await this.file(path, h.size, entry.body);
        }
        // Directories, devices and fifos carry nothing a loader needs.
      }
    } catch (e) {
      if (e instanceof ArchiveError || (isStoreError(e) && e.code.startsWith("ERR_ARCHIVE_"))) throw e;
      if ((e as Error)?.name === "AbortError") throw e;
      const what = current ? `archive entry ${JSON.stringify(current)}` : "archive";
      throw new ArchiveError(ArchiveErrorCode.Invalid, `reading ${what}: ${(e as Error)?.message ?? e}`, {
        cause: e,
        details: { file: current },
      });
    }
  }

  private async file(path: string, size: number, body: AsyncIterable<Uint8Array>): Promise<void> {
    if (size <= SMALL_FILE || isMetadataName(path)) {
      if (size > MAX_METADATA_FILE) {
        throw new ArchiveError(ArchiveErrorCode.Invalid, `archive entry ${JSON.stringify(path)}: ${size} bytes is too large for a metadata file`, {
          details: { file: path, size },
        });
      }
      const bytes = await readAll(body, size);
      this.entries.set(path, { kind: "memory", bytes });
      this.learn(path, bytes);
      return;
    }
    const parent = this.directParent(path);
    if (parent !== undefined) {
      this.entries.set(path, await this.registerDirect(path, size, body, parent === null ? undefined : parent));
      return;
    }
    if (this.options.layers.canStage) {
      // Only what is surely a layer tar is extracted now: anything else large is spooled, so
      // a file nothing needs can never fail the load.
      const sniffed = await sniffLayer(body);
      if (path.endsWith("/layer.tar")) {
        this.entries.set(path, await this.stage(path, size, sniffed.body));
        return;
      }
      if (sniffed.looksLikeLayer) {
        try {
          this.entries.set(path, await this.stage(path, size, sniffed.body));
        } catch (e) {
          // Interrupted, not unreadable: the load stops here.
          if ((e as Error)?.name === "AbortError" || this.options.signal?.aborted) throw e;
          this.entries.set(path, { kind: "unreadable", error: e as Error });
        }
        return;
      }
      body = sniffed.body;
    }
    const { file, size: written } = await this.options.spool.write(body);
    this.entries.set(path, { kind: "spool", file, size: written });
  }

  /** The parent chain a layer file can be registered on right now: null for a base, undefined when unknown. */
  private directParent(path: string): Digest | null | undefined {
    const hint = this.hints.get(path);
    if (!hint) return undefined;
    if (hint.parent === null) return null;
    const parent = this.resolve(hint.parent);
    return parent?.file.kind === "layer" ? parent.file.layer.chainId : undefined;
  }

  private async registerDirect(path: string, size: number, body: AsyncIterable<Uint8Array>, parent: Digest | undefined): Promise<StoredFile> {
    const { layers } = this.options;
    const hint = this.hints.get(path)!;
    if (hint.diffId) {
      // Named by its diff ID: when the chain is here already, moby's load skips the file; so do we.
      const chain = parent ? chainId([parent, hint.diffId])! : hint.diffId;
      try {
        const layer = await layers.get(chain);
        this.handles.push(layer);
        return { kind: "layer", layer, size };
      } catch (e) {
        if (!isStoreError(e, LayerErrorCode.NotFound)) throw e;
      }
    }
    const { result: layer, blobDigest } = await this.readLayerFile(path, size, body, (source) => layers.register(source, parent));
    this.handles.push(layer);
    return { kind: "layer", layer, size, ...(blobDigest ? { blobDigest } : {}) };
  }

  private async stage(path: string, size: number, body: AsyncIterable<Uint8Array>): Promise<StoredFile> {
    const { result: staged, blobDigest } = await this.readLayerFile(path, size, body, (source) => this.options.layers.stage(source));
    this.staged.push(staged);
    return { kind: "staged", staged, size, ...(blobDigest ? { blobDigest } : {}) };
  }

  /**
   * Feeds a layer file to `use` (register or stage), with progress, hashing the bytes as
   * stored when it is a blob: a blob's digest (compressed or not) is checked against its
   * descriptor later; docker-archive layer files have no descriptor, only the diff ID.
   */
  private async readLayerFile<T>(
    path: string,
    size: number,
    body: AsyncIterable<Uint8Array>,
    use: (source: AsyncIterable<Uint8Array>) => Promise<T>,
  ): Promise<{ result: T; blobDigest: Digest | undefined }> {
    const counted = this.counted(path, size, body);
    const hashed = path.startsWith("blobs/") ? hashingStream(counted) : undefined;
    const result = await use(hashed?.stream ?? counted);
    let blobDigest: Digest | undefined;
    try {
      blobDigest = hashed?.result().digest;
    } catch {
      blobDigest = undefined; // not read to its end: checked from the layer's own bytes instead
    }
    return { result, blobDigest };
  }

  /**
   * Stacks the staged layer file at `path` on `parent` and makes it an ordinary layer entry
   * (a later image naming the same file then finds the layer, or rebuilds its bytes from it).
   */
  async commitStaged(path: string, parent: Digest | undefined): Promise<Layer> {
    const file = this.entries.get(path);
    if (file?.kind !== "staged") throw new Error(`archive entry ${JSON.stringify(path)} is not a staged layer`);
    const layer = await file.staged.commit(parent);
    this.handles.push(layer);
    this.entries.set(path, { kind: "layer", layer, size: file.size, ...(file.blobDigest ? { blobDigest: file.blobDigest } : {}) });
    return layer;
  }

  /** Removes every staged layer that was never committed (on the way out of a load). */
  async discardStaged(): Promise<void> {
    for (const staged of this.staged) await staged.discard().catch(() => undefined);
  }

  /** `body`, reporting progress as it is read. */
  async *counted(path: string, total: number, body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    const { onProgress, signal } = this.options;
    const id = progressId(path);
    let current = 0;
    onProgress?.({ id, action: "Loading layer", current, total });
    for await (const chunk of body) {
      signal?.throwIfAborted();
      current += chunk.byteLength;
      onProgress?.({ id, action: "Loading layer", current, total });
      yield chunk;
    }
  }

  /** Learns where layers go from a metadata file, as soon as it arrives. */
  private learn(path: string, bytes: Uint8Array): void {
    if (path === "manifest.json") {
      this.manifest = parseDockerManifest(bytes);
      for (const item of this.manifest) {
        let parent: string | null = null;
        for (const layer of item.Layers) {
          let p: string;
          try {
            p = archivePath(layer, "manifest.json layer");
          } catch {
            break; // refused with a proper error when the plan is made
          }
          if (this.hints.get(p)?.strength !== "manifest") this.hints.set(p, { parent, strength: "manifest" });
          parent = p;
        }
      }
      return;
    }
    if (bytes[0] !== 0x7b) return; // hints only come from JSON objects
    const v1 = /^([^/]+)\/json$/.exec(path);
    if (v1) {
      const json = tryJson(bytes);
      if (!json) return;
      const parent = goField(json, "parent");
      this.guess(`${v1[1]}/layer.tar`, typeof parent === "string" && parent !== "" ? `${parent}/layer.tar` : null);
      return;
    }
    if (!path.startsWith("blobs/")) return;
    let doc;
    try {
      doc = parseOciDocument(bytes, path);
    } catch {
      return; // not ours to judge yet: the plan reports it if it is used
    }
    if (doc?.kind === "manifest") {
      let parent: string | null = null;
      for (const layer of doc.layers) {
        const p = blobPath(layer.digest);
        if (!this.hints.has(p) || this.hints.get(p)!.strength !== "manifest") this.hints.set(p, { parent, strength: "manifest" });
        parent = p;
      }
      return;
    }
    if (doc) return;
    // A config: Docker 25+ names each layer blob by its diff ID.
    const json = tryJson(bytes);
    const rootfs = json && goField(json, "rootfs");
    const diffIds = isJsonObject(rootfs) ? goField(rootfs, "diff_ids") : undefined;
    if (!Array.isArray(diffIds)) return;
    let parent: string | null = null;
    for (const text of diffIds) {
      let diffId: Digest;
      try {
        diffId = parseDigest(String(text));
      } catch {
        return;
      }
      const p = blobPath(diffId);
      if (!this.hints.has(p)) this.hints.set(p, { parent, strength: "guess", diffId });
      parent = p;
    }
  }

  private guess(path: string, parent: string | null): void {
    if (!this.hints.has(path)) this.hints.set(path, { parent, strength: "guess" });
  }

  /** The file at `path`, symlinks and hardlinks followed; undefined when there is none. */
  resolve(path: string): { path: string; file: StoredFile } | undefined {
    let p = path;
    for (let hops = 0; hops <= MAX_LINK_HOPS; hops++) {
      const e = this.entries.get(p);
      if (!e) return undefined;
      if (e.kind !== "link") return { path: p, file: e };
      if (e.target === null) return undefined;
      p = e.target;
    }
    return undefined;
  }

  /** Whether the archive holds an entry (of any kind) at `path`. */
  has(path: string): boolean {
    return this.entries.has(path);
  }
}

/** `blobs/<algorithm>/<hex>`: where an OCI layout keeps a blob. */
export function blobPath(digest: Digest): string {
  return `blobs/${digest.algorithm}/${digest.encoded}`;
}

function tryJson(bytes: Uint8Array): Record<string, unknown> | undefined {
  try {
    const json: unknown = JSON.parse(decoder.decode(bytes));
    return isJsonObject(json) ? json : undefined;
  } catch {
    return undefined;
  }
}

async function readAll(body: AsyncIterable<Uint8Array>, size: number): Promise<Uint8Array> {
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for await (const chunk of body) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return at === size ? out : out.subarray(0, at);
}

const USTAR_MAGIC = [0x75, 0x73, 0x74, 0x61, 0x72]; // "ustar" at offset 257 of a tar header

/**
 * Whether a large archive file of unknown role starts like a layer (a tar, or gzip or zstd
 * data), and the same bytes again to read from the start.
 */
async function sniffLayer(body: AsyncIterable<Uint8Array>): Promise<{ looksLikeLayer: boolean; body: AsyncIterable<Uint8Array> }> {
  const { head, stream } = await peekHead(body, 512);
  const looksLikeLayer = detectCompression(head) !== "none" || (head.length >= 262 && USTAR_MAGIC.every((b, i) => head[257 + i] === b));
  return { looksLikeLayer, body: stream };
}
