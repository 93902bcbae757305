import { type Digest, chainId, parseDigest } from "@store/digest";
import { isStoreError } from "@store/errors";
import { type ProgressListener, progressReader } from "@store/internal";
import {
  type ExpectedLayer,
  type Layer,
  type LayerBlob,
  type LayerStore,
  type RegisteredLayer,
  type StagedLayer,
  decompress,
  detectCompression,
  peekHead,
} from "@store/layer";
import { parseTar } from "@store/tar-split";
import { archivePath, linkTarget } from "./archive-path";
import { type DockerManifestItem, parseDockerManifest } from "./docker-manifest";
import { ArchiveError, ArchiveErrorCode } from "./errors";
import { goField, isJsonObject } from "./json-fields";
import { layerRefusal } from "./layer-refusal";
import { MemoryBudget } from "./memory-budget";
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
   * expects, found already in the store without reading it). `blob` is the digest and size of
   * the bytes as they were in the archive (compressed, if they were), when they were read.
   */
  | { kind: "layer"; layer: Layer; size: number; blob?: LayerBlob }
  /**
   * A layer file that arrived before the archive said what it goes on, extracted already
   * (`LayerStore.stage`) and stacked once the manifest is read; the alternative, spooling it
   * to disk and reading it back, cost a fifth of a classic `docker save` load.
   */
  | { kind: "staged"; staged: StagedLayer; size: number }
  /**
   * A blob that looked like a layer but did not extract: an error only if a manifest names it
   * (an archive may carry other blobs, and docker load ignores what it does not use).
   */
  | { kind: "unreadable"; error: Error };

type Entry = StoredFile | { kind: "link"; target: string | null };

/** What a layer file must be ({@link ExpectedLayer}, its digests parsed already). */
interface Expected extends ExpectedLayer {
  diffId?: Digest;
  blob?: { digest: Digest; size?: number };
}

/** Where a layer file probably sits: on top of the layer file at `parent` (null: a base layer). */
interface Hint {
  parent: string | null;
  /** From manifest.json or an OCI manifest (authoritative), or guessed from v1 `json` files or a config. */
  strength: "manifest" | "guess";
  /** The diff ID this file must have, when the archive names blobs by diff ID (Docker 25+). */
  diffId?: Digest;
  /**
   * The image whose manifest lists this file, and where: once its config has arrived, the
   * config's diff ID at that place is what the file must have.
   */
  image?: { config: string; index: number; count: number };
  /** The blob's size, from its descriptor in an OCI manifest. */
  size?: number;
}

export interface ArchiveFilesOptions {
  layers: LayerStore;
  spool: Spool;
  /** What the files held in memory may take together (default {@link DEFAULT_MEMORY_BUDGET}). */
  memoryBudget?: number;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

// Files up to this size are kept in memory (within the budget); larger ones are layers to
// register or spool.
const SMALL_FILE = 1 << 20;
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
  /** The diff IDs of each config read so far, by path (null: not a config). */
  private readonly diffIdsByConfig = new Map<string, Digest[] | null>();
  /** Every layer handle taken while reading; the caller releases them. */
  readonly handles: Layer[] = [];
  /** Every layer staged while reading; the caller discards what was not committed. */
  private readonly staged: StagedLayer[] = [];
  manifest: DockerManifestItem[] | undefined;
  /** The bytes held in memory: files kept as they streamed by, metadata read back from the spool. */
  readonly budget: MemoryBudget;

  constructor(private readonly options: ArchiveFilesOptions) {
    this.budget = new MemoryBudget(options.memoryBudget);
  }

  /** Reads the whole archive (plain or gzip/zstd-compressed tar). */
  async read(source: AsyncIterable<Uint8Array>): Promise<void> {
    let current = "";
    try {
      for await (const entry of parseTar(decompress(source))) {
        this.options.signal?.throwIfAborted();
        const h = entry.header;
        current = h.name;
        const path = archivePath(h.name, "archive entry");
        if (h.type === "symlink" || h.type === "hardlink" || h.type === "file") this.budget.takeEntry(path);
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
    const metadata = isMetadataName(path);
    if (metadata) this.budget.takeMetadata(path, size);
    if (metadata || (size <= SMALL_FILE && this.budget.tryTake(size))) {
      const bytes = await readAll(body, size);
      this.entries.set(path, { kind: "memory", bytes });
      this.learn(path, bytes);
      return;
    }
    if (size <= SMALL_FILE) {
      // Past the budget: a small file (a small layer, an OCI blob) waits on disk.
      const { file, size: written } = await this.options.spool.write(body);
      this.entries.set(path, { kind: "spool", file, size: written });
      return;
    }
    const expected = this.expectedOf(path);
    // Committed at once only when it can be verified first: where it goes is known, and what
    // it must be. Otherwise it is extracted now and committed once the plan says both.
    const parent = expected.diffId ? this.directParent(path) : undefined;
    if (parent !== undefined && expected.diffId) {
      this.entries.set(path, await this.registerDirect(path, size, body, parent === null ? undefined : parent, { ...expected, diffId: expected.diffId }));
      return;
    }
    if (this.options.layers.canStage) {
      // Only what is surely a layer tar is extracted now: anything else large is spooled, so
      // a file nothing needs can never fail the load.
      const sniffed = await sniffLayer(body);
      if (path.endsWith("/layer.tar")) {
        try {
          this.entries.set(path, await this.stage(path, size, sniffed.body, expected));
        } catch (e) {
          throw layerRefusal(`archive entry ${JSON.stringify(path)}`, path, e) ?? e;
        }
        return;
      }
      if (sniffed.looksLikeLayer) {
        try {
          this.entries.set(path, await this.stage(path, size, sniffed.body, expected));
        } catch (e) {
          // Interrupted, not unreadable: the load stops here.
          if ((e as Error)?.name === "AbortError" || this.options.signal?.aborted) throw e;
          // A blob that is not what its name says is refused only if a manifest uses it.
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

  /**
   * Registers a layer file as it streams, with progress. The layer store hashes the bytes as they
   * are in the archive in the same pass, and checks them against what the archive said (a blob's
   * name and descriptor, a config's diff ID) before it commits anything.
   */
  private async registerDirect(
    path: string,
    size: number,
    body: AsyncIterable<Uint8Array>,
    parent: Digest | undefined,
    expected: Expected & { diffId: Digest },
  ): Promise<StoredFile> {
    const { layers, signal } = this.options;
    // When the chain is here already, moby's load skips the file; so do we.
    const chain = parent ? chainId([parent, expected.diffId])! : expected.diffId;
    try {
      const layer = await layers.get(chain);
      this.handles.push(layer);
      return { kind: "layer", layer, size };
    } catch (e) {
      if (!isStoreError(e, "ERR_LAYER_NOT_FOUND")) throw e;
    }
    let registered: RegisteredLayer;
    try {
      registered = await layers.register(this.counted(path, size, body), parent, { expected, signal });
    } catch (e) {
      throw layerRefusal(`archive entry ${JSON.stringify(path)}`, path, e) ?? e;
    }
    const { layer, blob } = registered;
    this.handles.push(layer);
    return { kind: "layer", layer, size, blob };
  }

  private async stage(path: string, size: number, body: AsyncIterable<Uint8Array>, expected: ExpectedLayer): Promise<StoredFile> {
    const { layers, signal } = this.options;
    const staged = await layers.stage(this.counted(path, size, body), { expected, signal });
    this.staged.push(staged);
    return { kind: "staged", staged, size };
  }

  /**
   * Stacks the staged layer file at `path` on `parent`, once `expected` (the config's diff ID,
   * the descriptor's digest and size) is checked, and makes it an ordinary layer entry (a later
   * image naming the same file then finds the layer, or rebuilds its bytes from it).
   */
  async commitStaged(path: string, parent: Digest | undefined, expected: ExpectedLayer): Promise<RegisteredLayer> {
    const file = this.entries.get(path);
    if (file?.kind !== "staged") throw new Error(`archive entry ${JSON.stringify(path)} is not a staged layer`);
    const registered = await file.staged.commit(parent, expected);
    this.handles.push(registered.layer);
    this.entries.set(path, { kind: "layer", layer: registered.layer, size: file.size, blob: registered.blob });
    return registered;
  }

  /** Removes every staged layer that was never committed (on the way out of a load). */
  async discardStaged(): Promise<void> {
    for (const staged of this.staged) await staged.discard().catch(() => undefined);
  }

  /** `body`, reporting "Loading layer" progress as it is read (the archive entry's bytes). */
  counted(path: string, total: number, body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    const { onProgress, signal } = this.options;
    return progressReader(body, { status: "Loading layer", id: progressId(path), total, ...(onProgress ? { onProgress } : {}), ...(signal ? { signal } : {}) });
  }

  /** Learns where layers go from a metadata file, as soon as it arrives. */
  private learn(path: string, bytes: Uint8Array): void {
    if (path === "manifest.json") {
      this.manifest = parseDockerManifest(bytes);
      for (const item of this.manifest) {
        let config: string;
        try {
          config = archivePath(item.Config, "manifest.json Config");
        } catch {
          continue; // refused with a proper error when the plan is made
        }
        let parent: string | null = null;
        for (const [index, layer] of item.Layers.entries()) {
          let p: string;
          try {
            p = archivePath(layer, "manifest.json layer");
          } catch {
            break; // refused with a proper error when the plan is made
          }
          this.manifestHint(p, { parent, strength: "manifest", image: { config, index, count: item.Layers.length } });
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
      const config = blobPath(doc.config.digest);
      let parent: string | null = null;
      for (const [index, layer] of doc.layers.entries()) {
        const p = blobPath(layer.digest);
        const size = Number.isSafeInteger(layer.size) && layer.size >= 0 ? layer.size : undefined;
        this.manifestHint(p, { parent, strength: "manifest", image: { config, index, count: doc.layers.length }, ...(size !== undefined ? { size } : {}) });
        parent = p;
      }
      return;
    }
    if (doc) return;
    // A config: Docker 25+ names each layer blob by its diff ID.
    const diffIds = configDiffIds(bytes);
    this.diffIdsByConfig.set(path, diffIds);
    if (!diffIds) return;
    let parent: string | null = null;
    for (const diffId of diffIds) {
      const p = blobPath(diffId);
      if (!this.hints.has(p)) this.hints.set(p, { parent, strength: "guess", diffId });
      parent = p;
    }
  }

  /** Records what a manifest says of a layer file; the first manifest to name it wins, as in the plan. */
  private manifestHint(path: string, hint: Hint): void {
    const known = this.hints.get(path);
    if (known?.strength === "manifest") return;
    // A diff ID learnt from a blob's name stays: it is the blob's own, whoever names it.
    this.hints.set(path, known?.diffId ? { ...hint, diffId: known.diffId } : hint);
  }

  /**
   * What the layer file at `path` must be, as far as the archive has said so yet: the diff ID its
   * image's config gives it, and for a blob its digest (its name) and size (its descriptor).
   */
  private expectedOf(path: string): Expected {
    const hint = this.hints.get(path);
    const diffId = hint?.diffId ?? (hint?.image ? this.configDiffId(hint.image) : undefined);
    const blob = blobDigestOf(path);
    return {
      ...(diffId ? { diffId } : {}),
      ...(blob ? { blob: { digest: blob, ...(hint?.size !== undefined ? { size: hint.size } : {}) } } : {}),
    };
  }

  /** The diff ID a config read already gives a layer, when its layer count is the manifest's (else the plan refuses it). */
  private configDiffId(image: NonNullable<Hint["image"]>): Digest | undefined {
    let diffIds = this.diffIdsByConfig.get(image.config);
    if (diffIds === undefined) {
      const found = this.resolve(image.config);
      if (found?.file.kind !== "memory") return undefined; // not arrived yet
      diffIds = configDiffIds(found.file.bytes);
      this.diffIdsByConfig.set(image.config, diffIds);
    }
    return diffIds?.length === image.count ? diffIds[image.index] : undefined;
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

/** The digest a file at `blobs/<algorithm>/<hex>` must have (a blob is named by its content); else undefined. */
function blobDigestOf(path: string): Digest | undefined {
  const m = /^blobs\/([^/]+)\/([^/]+)$/.exec(path);
  if (!m) return undefined;
  try {
    return parseDigest(`${m[1]}:${m[2]}`);
  } catch {
    return undefined;
  }
}

/** A config's `rootfs.diff_ids`, parsed; null when it is not a config with valid ones. */
function configDiffIds(bytes: Uint8Array): Digest[] | null {
  const json = bytes[0] === 0x7b ? tryJson(bytes) : undefined;
  const rootfs = json && goField(json, "rootfs");
  const diffIds = isJsonObject(rootfs) ? goField(rootfs, "diff_ids") : undefined;
  if (!Array.isArray(diffIds)) return null;
  try {
    return diffIds.map((text) => parseDigest(String(text)));
  } catch {
    return null;
  }
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
