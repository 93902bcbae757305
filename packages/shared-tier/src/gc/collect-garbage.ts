import type { StoreBackend } from "@store/backend";
import type { Digest } from "@store/digest";
import type { MetadataStore } from "@store/metadata";
import type { ReferenceLog } from "../references/reference-log";

/** What {@link CollectGarbage} works with, and its windows. */
export interface CollectGarbageOptions {
  blobs: StoreBackend;
  metadata: MetadataStore;
  log: ReferenceLog;
  hostId: string;
  /** Content younger than this is never deleted (default 10 minutes): covers uploads whose record is not written yet. */
  graceMs?: number;
  /** How far hosts' clocks may disagree; a lease counts as live until its `expires` + this (default 30 s). */
  clockSkewMs?: number;
  /** Report what would be deleted without deleting it. */
  dryRun?: boolean;
  signal?: AbortSignal;
  /**
   * How long the run may delete (default 5 minutes), written into its `gc/<run>` record: past
   * it the run deletes nothing more, and writers waiting for it stop waiting (after the skew too).
   */
  deadlineMs?: number;
  /** The clock, in ms since the epoch (default Date.now). */
  now?: () => number;
  /**
   * Called between the phases and awaited, with the digests the run means to delete so far: tests
   * use it to interleave a writer with a collection deterministically.
   */
  onPhase?: (phase: GarbagePhase, candidates: readonly Digest[]) => void | Promise<void>;
}

/**
 * Where a collection stands when {@link CollectGarbageOptions.onPhase} is called: "marked" after
 * phase 1 (candidates chosen), "published" after phase 2 (`gc/<run>` written), "rechecked" after
 * phase 3's second look (what it will delete), before any delete.
 */
export type GarbagePhase = "marked" | "published" | "rechecked";

/** What a collection did. */
export interface GarbageReport {
  /** Blobs looked at. */
  examined: number;
  /** Blobs that no image in the shared state reaches. */
  unreferenced: number;
  /** Of those, kept because a live lease holds them. */
  leased: number;
  /** Of those, kept because they are younger than the grace period. */
  young: number;
  /** Deleted (or, with dryRun, that would be). */
  deleted: Digest[];
  /** Bytes freed. */
  freedBytes: number;
  /** The run reached its deadline before deleting every candidate (the rest waits for the next run). */
  stoppedAtDeadline: boolean;
}

/**
 * Frees blobs that no reference and no live lease holds, only after a grace period, never a blob
 * being uploaded or read. Runs on any host, also on several at once: (1) read leases, then the
 * state, then list the blobs; candidates are unreached, unleased and older than the grace period;
 * (2) publish the candidates under `gc/<run>` before deleting anything, so a writer that finds a
 * candidate present waits instead of skipping its upload; (3) read leases and the state again and
 * delete only candidates still unreached and unleased; (4) mark the run done.
 */
export type CollectGarbage = (options: CollectGarbageOptions) => Promise<GarbageReport>;
