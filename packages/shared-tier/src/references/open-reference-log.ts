import { isStoreError } from "@store/errors";
import { AsyncMutex, mapLimit, sleep } from "@store/internal";
import { MetadataErrorCode, type MetadataStore } from "@store/metadata";
import { SharedTierError, SharedTierErrorCode } from "../errors";
import { SharedKeys } from "../layout";
import { assertHostId } from "../option-checks";
import { type NamedChanges, applyChanges, applyRecords, emptySharedState } from "./apply-changes";
import { encodeChangeRecord, encodeSnapshot, parseChangeRecord, parseSnapshot } from "./log-codec";
import { orderedName, orderedNameTime, parseSequenceName, sequenceName } from "./record-names";
import type { ReferenceChange } from "./reference-change";
import type { ReferenceLog } from "./reference-log";
import type { SharedState } from "./shared-state";

/** Options of {@link openReferenceLog}. */
export interface OpenReferenceLogOptions {
  /** The tier's metadata store. Ordered-records mode needs it opened with `allowUnconditional` when it is not conditional. */
  store: MetadataStore;
  /** This host: a key segment (printable ASCII, no `/`), unique among the hosts sharing the store. */
  hostId: string;
  /** How records are named; by default compare-and-swap where `store.capabilities.conditional`, else ordered records. */
  mode?: ReferenceLog["mode"];
  /**
   * Ordered records: how late a record may become visible after the time in its name (clock skew
   * plus the slowest PUT) and still take its place in the order (default 30 s). Readers keep that
   * much of the log open to reordering; compaction never covers it; a writer whose PUT took more
   * than half of it writes its record again under a new name.
   */
  pollWindowMs?: number;
  /** How long records and snapshots that a newer snapshot covers are kept for readers that are behind (default 10 minutes). */
  retentionMs?: number;
  /** How long a record may stay unparseable before it is reported (ERR_SHARED_CORRUPT) and skipped (default 60 s). */
  corruptAfterMs?: number;
  /** Appends that lose the race this many times fail with ERR_SHARED_CONFLICT (default 50). */
  maxAppendAttempts?: number;
  /** Records read at once (default 8). */
  readConcurrency?: number;
  /** Told of what the log skipped or reordered (ERR_SHARED_CORRUPT, ERR_SHARED_CONFLICT), once per record. */
  onWarning?: (warning: SharedTierError) => void;
}

const defaults = {
  pollWindowMs: 30_000,
  retentionMs: 10 * 60_000,
  corruptAfterMs: 60_000,
  maxAppendAttempts: 50,
  readConcurrency: 8,
};

/**
 * Opens the shared references log of `store` for host `hostId` (see {@link ReferenceLog}). Nothing
 * is read until the first refresh or append.
 */
export function openReferenceLog(options: OpenReferenceLogOptions): ReferenceLog {
  const { store, hostId } = options;
  assertHostId(hostId);
  const mode = options.mode ?? (store.capabilities.conditional ? "compare-and-swap" : "ordered-records");
  if (mode !== "compare-and-swap" && mode !== "ordered-records") throw invalid(`unknown reference log mode ${JSON.stringify(mode)}`, { mode });
  if (mode === "compare-and-swap" && !store.capabilities.conditional) {
    throw invalid(`compare-and-swap needs a metadata store that enforces conditional writes; ${store.name} does not (use ordered-records)`, {
      store: store.name,
    });
  }
  const settings = { ...defaults };
  for (const key of Object.keys(defaults) as (keyof typeof defaults)[]) {
    const value = options[key];
    if (value === undefined) continue;
    const min = key === "maxAppendAttempts" || key === "readConcurrency" ? 1 : 0;
    if (!Number.isFinite(value) || value < min) throw invalid(`${key} must be a number ≥ ${min}, not ${value}`, { [key]: value });
    settings[key] = value;
  }
  return new StoreReferenceLog(store, hostId, mode, settings, options.onWarning);
}

type Settings = typeof defaults;

/** Below this, a refresh's list is recent enough that no record it missed can have been compacted away. */
const recentShare = 1 / 4;

class StoreReferenceLog implements ReferenceLog {
  /** Ordered records: the state after every record up to base.position; the tail is replayed on it when a late record arrives. */
  #base: SharedState = emptySharedState();
  /** Ordered records: records after base.position, sorted by name. Always empty in compare-and-swap mode. */
  #tail: NamedChanges[] = [];
  #state: SharedState = this.#base;
  /** Ordered records: names applied (or skipped) that are still listed, to tell new ones from old ones. */
  readonly #seen = new Set<string>();
  /** When each record still listed was written, for compaction's retention. */
  readonly #writtenAt = new Map<string, number>();
  /** Records that did not parse, and since when. */
  readonly #unparseable = new Map<string, number>();
  /** Names already reported (skipped records, too-late records, gaps), so each is reported once. */
  readonly #reported = new Set<string>();
  /** The snapshot this reader started from (or last caught up with): records up to it are in it, read or not. */
  #snapshotPosition = "";
  #started = false;
  /** A record listed by the last refresh was gone when read. */
  #recordWentMissing = false;
  /** When the list of the last complete refresh was taken (by this host's clock). */
  #listedAt = Number.NEGATIVE_INFINITY;
  /** Ordered records: the newest time seen in a name, so this host's names sort after every record it knows. */
  #newestTime = 0;
  #counter = Math.floor(Math.random() * 1_000_000);
  readonly #reads = new AsyncMutex();
  readonly #appends = new AsyncMutex();

  constructor(
    private readonly store: MetadataStore,
    private readonly hostId: string,
    readonly mode: ReferenceLog["mode"],
    private readonly settings: Settings,
    private readonly onWarning?: (warning: SharedTierError) => void,
  ) {}

  current(): SharedState {
    return this.#state;
  }

  refresh(options: { signal?: AbortSignal } = {}): Promise<SharedState> {
    return this.#reads.run(() => this.#refresh(options.signal));
  }

  append(changes: readonly ReferenceChange[], options: { signal?: AbortSignal } = {}): Promise<void> {
    if (!Array.isArray(changes) || changes.length === 0) {
      return Promise.reject(invalid("append needs at least one change", { changes }));
    }
    const own = [...changes];
    // Checked as readers will check it: a record they cannot parse would stall them.
    if (parseChangeRecord(encodeChangeRecord({ v: 1, host: this.hostId, at: "", changes: own })) === undefined) {
      return Promise.reject(invalid(`not a valid list of reference changes: ${JSON.stringify(changes).slice(0, 200)}`, { changes }));
    }
    return this.#appends.run(() => (this.mode === "compare-and-swap" ? this.#appendSequenced(own, options.signal) : this.#appendOrdered(own, options.signal)));
  }

  async compact(options: { signal?: AbortSignal } = {}): Promise<void> {
    const { signal } = options;
    await this.refresh({ signal });
    const now = Date.now();
    const cut = await this.#reads.run(() => this.#compactionCut(now));
    if (cut.position === "") return;
    try {
      await this.store.putIfAbsent(`${SharedKeys.snapshots}/${cut.position}`, encodeSnapshot(cut));
    } catch (e) {
      // Another host wrote the snapshot of the same position: the same bytes.
      if (!isStoreError(e, MetadataErrorCode.Conflict)) throw e;
    }
    signal?.throwIfAborted();
    await this.#removeCovered(cut.position, now, signal);
  }

  // ---- reading ----

  async #refresh(signal: AbortSignal | undefined): Promise<SharedState> {
    signal?.throwIfAborted();
    const listedAt = Date.now();
    const names = await this.#listNames(SharedKeys.log);
    this.#forgetUnlisted(new Set(names));
    // A reader that has not listed for a while, or found a record gone, may have missed records
    // compaction has since removed: it moves to the newest snapshot. The snapshots are listed
    // after the log, never before: a record removed after the log was listed is covered by a
    // snapshot written before it was removed, so this list shows one that covers it.
    const sequenceGap = this.mode === "compare-and-swap" && this.#hasGap(names);
    if (this.#mayHaveMissedCompaction(listedAt) || sequenceGap || this.#recordWentMissing) {
      this.#recordWentMissing = false;
      await this.#catchUpFromSnapshot(signal);
    }
    if (this.mode === "compare-and-swap") await this.#readSequenced(names, signal);
    else await this.#readOrdered(names, signal);
    this.#started = true;
    this.#listedAt = listedAt;
    return this.#state;
  }

  async #listNames(prefix: string): Promise<string[]> {
    const keys = await this.store.list(prefix);
    return keys.map((key) => key.slice(prefix.length + 1));
  }

  /** Moves to the newest snapshot if it is ahead of this reader; whether it did. */
  async #catchUpFromSnapshot(signal: AbortSignal | undefined): Promise<boolean> {
    const names = (await this.#listNames(SharedKeys.snapshots)).filter((name) => this.#isRecordName(name) && name > this.#state.position);
    for (const name of names.reverse()) {
      signal?.throwIfAborted();
      const record = await this.store.get(`${SharedKeys.snapshots}/${name}`);
      // Removed by a compaction since the list: a newer one exists, which the next refresh finds.
      if (record === undefined) continue;
      const snapshot = parseSnapshot(record.data);
      if (snapshot === undefined || snapshot.position !== name) {
        this.#warnOnce(`snapshot:${name}`, SharedTierErrorCode.Corrupt, `snapshot ${SharedKeys.snapshots}/${name} does not parse; trying an older one`, {
          key: `${SharedKeys.snapshots}/${name}`,
        });
        continue;
      }
      this.#base = snapshot;
      this.#snapshotPosition = snapshot.position;
      // Records after the snapshot that this reader already applied stay applied.
      this.#tail = this.#tail.filter((r) => r.name > snapshot.position);
      this.#state = applyRecords(snapshot, this.#tail);
      this.#noteTime(snapshot.position);
      return true;
    }
    return false;
  }

  /** Compare-and-swap: whether the record after this reader's position is missing while later ones exist. */
  #hasGap(names: readonly string[]): boolean {
    const position = parseSequenceName(this.#state.position) ?? 0;
    const next = names.find((name) => (parseSequenceName(name) ?? 0) > position);
    return next !== undefined && parseSequenceName(next) !== position + 1;
  }

  async #readSequenced(names: readonly string[], signal: AbortSignal | undefined): Promise<void> {
    let position = parseSequenceName(this.#state.position) ?? 0;
    // A name of the other form would mean hosts disagree on the mode: say so rather than skip it quietly.
    const pending = names.filter((name) => this.#isRecordName(name, `log:${name}`) && parseSequenceName(name)! > position);
    for (let start = 0; start < pending.length; ) {
      const batch = pending.slice(start, start + this.settings.readConcurrency * 4);
      const read = await this.#readRecords(batch, signal);
      const applied: NamedChanges[] = [];
      let stopped = false;
      for (const [i, name] of batch.entries()) {
        const sequence = parseSequenceName(name)!;
        if (sequence !== position + 1) {
          // Missing even after looking at the snapshots: removed by someone else. Going on is
          // all a reader can do; saying so is the least it owes.
          this.#warnOnce(`gap:${position}`, SharedTierErrorCode.Corrupt, `reference log records after ${sequenceName(position)} up to ${name} are missing`, {
            after: sequenceName(position),
            next: name,
          });
        }
        const outcome = read[i]!;
        if (outcome === "missing" || outcome === "wait") {
          // Gone since the list: compacted away, so a snapshot covers it (the next refresh takes it).
          if (outcome === "missing") this.#recordWentMissing = true;
          stopped = true;
          break;
        }
        applied.push({ name, changes: outcome === "skip" ? [] : outcome.changes });
        position = sequence;
      }
      this.#state = applyRecords(this.#state, applied);
      this.#base = this.#state;
      if (stopped) return;
      start += batch.length;
    }
  }

  async #readOrdered(names: readonly string[], signal: AbortSignal | undefined): Promise<void> {
    const listed = new Set(names);
    for (const name of this.#seen) if (!listed.has(name)) this.#seen.delete(name);
    const fresh = names.filter((name) => name > this.#snapshotPosition && !this.#seen.has(name) && this.#isRecordName(name, `log:${name}`));
    const arrived: NamedChanges[] = [];
    for (let start = 0; start < fresh.length; ) {
      const batch = fresh.slice(start, start + this.settings.readConcurrency * 4);
      const read = await this.#readRecords(batch, signal);
      let stopped = false;
      for (const [i, name] of batch.entries()) {
        const outcome = read[i]!;
        // Rewritten under a new name by a writer that stalled (nothing to apply), or compacted
        // away (the next refresh looks for the snapshot that holds it).
        if (outcome === "missing") {
          this.#recordWentMissing = true;
          continue;
        }
        if (outcome === "wait") {
          stopped = true;
          break;
        }
        this.#seen.add(name);
        arrived.push({ name, changes: outcome === "skip" ? [] : outcome.changes });
      }
      if (stopped) break;
      start += batch.length;
    }
    this.#ingestOrdered(arrived);
    this.#fold(Date.now());
  }

  /**
   * Ordered records: puts records that arrived into their place. Records after the tail extend
   * the state; one that sorts before records already applied (a late one) makes the reader replay
   * the tail from its base, an in-memory snapshot older than every record still open to reordering.
   */
  #ingestOrdered(arrived: readonly NamedChanges[]): void {
    if (arrived.length === 0) return;
    const last = () => this.#tail[this.#tail.length - 1]?.name ?? this.#base.position;
    const appended: NamedChanges[] = [];
    let replay = false;
    for (const record of arrived) {
      this.#noteTime(record.name);
      if (record.name > last()) {
        this.#tail.push(record);
        appended.push(record);
      } else if (record.name > this.#base.position) {
        const at = this.#tail.findIndex((r) => r.name > record.name);
        this.#tail.splice(at, 0, record);
        replay = true;
      } else {
        // Later than the window allows (a clock far behind, a PUT stalled past the writer's own
        // check): applied right after the base rather than lost, and reported.
        this.#warnOnce(
          `late:${record.name}`,
          SharedTierErrorCode.Conflict,
          `reference log record ${record.name} appeared after readers had passed its place (older than ${this.settings.pollWindowMs} ms); applied out of order`,
          { name: record.name },
        );
        this.#base = { ...applyRecords(this.#base, [record]), position: this.#base.position };
        replay = true;
      }
    }
    this.#state = replay ? applyRecords(this.#base, this.#tail) : applyRecords(this.#state, appended);
  }

  /** Ordered records: moves records that can no longer be reordered (older than the window) into the base. */
  #fold(now: number): void {
    const horizon = now - this.settings.pollWindowMs;
    let count = 0;
    while (count < this.#tail.length && orderedNameTime(this.#tail[count]!.name)! <= horizon) count++;
    if (count === 0) return;
    this.#base = applyRecords(this.#base, this.#tail.slice(0, count));
    this.#tail = this.#tail.slice(count);
  }

  /**
   * Reads `names` (bounded), each as its changes, "missing" (gone since the list), "wait" (does not
   * parse yet: s3rver shows a half-written object; the reader stops before it) or "skip" (has not
   * parsed for longer than corruptAfterMs: reported once, then passed over as an empty record).
   */
  async #readRecords(names: readonly string[], signal: AbortSignal | undefined): Promise<(NamedChanges | "missing" | "wait" | "skip")[]> {
    return mapLimit(names, this.settings.readConcurrency, async (name) => {
      signal?.throwIfAborted();
      const key = `${SharedKeys.log}/${name}`;
      const stored = await this.store.get(key);
      if (stored === undefined) return "missing";
      const record = parseChangeRecord(stored.data);
      if (record !== undefined) {
        this.#unparseable.delete(name);
        this.#writtenAt.set(name, this.#timeOf(name, record.at));
        return { name, changes: record.changes };
      }
      const now = Date.now();
      const since = this.#unparseable.get(name) ?? now;
      this.#unparseable.set(name, since);
      if (now - since <= this.settings.corruptAfterMs) return "wait";
      this.#warnOnce(`log:${name}`, SharedTierErrorCode.Corrupt, `reference log record ${key} has not parsed for ${now - since} ms; skipped`, {
        key,
      });
      this.#writtenAt.set(name, since);
      return "skip";
    });
  }

  // ---- writing ----

  /** Compare-and-swap: claims the sequence number after the newest record this host knows. */
  async #appendSequenced(changes: ReferenceChange[], signal: AbortSignal | undefined): Promise<void> {
    for (let attempt = 1; attempt <= this.settings.maxAppendAttempts; attempt++) {
      signal?.throwIfAborted();
      if (this.#mayHaveMissedCompaction(Date.now())) await this.refresh({ signal });
      const listedAt = this.#listedAt;
      const previous = this.#state.position;
      const name = sequenceName((parseSequenceName(previous) ?? 0) + 1);
      const key = `${SharedKeys.log}/${name}`;
      try {
        await this.store.putIfAbsent(key, encodeChangeRecord({ v: 1, host: this.hostId, at: new Date().toISOString(), changes }));
      } catch (e) {
        if (!isStoreError(e, MetadataErrorCode.Conflict)) throw e;
        // Another host took the number: read what it wrote, and try the next one after a pause
        // that spreads the writers out.
        await sleep(backoffMs(attempt), signal);
        await this.refresh({ signal });
        continue;
      }
      // putIfAbsent only knows the names that exist now. A record this host never saw can have
      // been written and compacted away only retentionMs after the list that told this host the
      // number was free; past half of that, the number may be one every reader has passed.
      if (Date.now() - listedAt > this.settings.retentionMs / 2 && (await this.#coveredBySnapshot(name))) {
        await this.store.delete(key);
        await this.refresh({ signal });
        continue;
      }
      await this.#reads.run(() => {
        if (this.#state.position === previous) {
          this.#state = applyChanges(this.#state, name, changes);
          this.#base = this.#state;
          this.#writtenAt.set(name, Date.now());
        }
      });
      return;
    }
    throw new SharedTierError(
      SharedTierErrorCode.Conflict,
      `appending to the reference log lost to other writers ${this.settings.maxAppendAttempts} times in a row`,
      { details: { host: this.hostId } },
    );
  }

  /**
   * Ordered records: writes the record under a name no other write can take (this host's ID and
   * counter in it), after every record this host has seen. putIfAbsent's check is racy on a store
   * without conditional writes, but harmless: unique names never collide.
   */
  async #appendOrdered(changes: ReferenceChange[], signal: AbortSignal | undefined): Promise<void> {
    for (let attempt = 1; attempt <= this.settings.maxAppendAttempts; attempt++) {
      signal?.throwIfAborted();
      const time = Math.max(Date.now(), this.#newestTime + 1);
      const name = orderedName(time, this.hostId, this.#counter++);
      const key = `${SharedKeys.log}/${name}`;
      try {
        await this.store.putIfAbsent(key, encodeChangeRecord({ v: 1, host: this.hostId, at: new Date(time).toISOString(), changes }));
      } catch (e) {
        if (!isStoreError(e, MetadataErrorCode.Conflict)) throw e;
        continue;
      }
      // Why this loses nothing: readers keep the last pollWindowMs of names (by the time in them)
      // open to reordering and compaction never covers them, so a record visible within that
      // window of its name's time takes its place on every host. A PUT that took longer than half
      // the window (leaving the other half for clock skew) may have missed it: the record is
      // written again under a fresh name, and a reader that saw both applies the same blind
      // writes twice, which ends in the state the second alone gives.
      if (Date.now() - time > this.settings.pollWindowMs / 2) {
        await this.store.delete(key);
        continue;
      }
      await this.#reads.run(() => {
        this.#seen.add(name);
        this.#writtenAt.set(name, time);
        this.#ingestOrdered([{ name, changes }]);
      });
      return;
    }
    throw new SharedTierError(SharedTierErrorCode.Conflict, `could not name a reference log record in ${this.settings.maxAppendAttempts} attempts`, {
      details: { host: this.hostId },
    });
  }

  async #coveredBySnapshot(name: string): Promise<boolean> {
    const snapshots = (await this.#listNames(SharedKeys.snapshots)).filter((s) => this.#isRecordName(s));
    return snapshots.length > 0 && snapshots[snapshots.length - 1]! >= name;
  }

  // ---- compaction ----

  /** The state a snapshot may cover now: the current one, or in ordered mode the part older than the window. */
  #compactionCut(now: number): SharedState {
    if (this.mode === "compare-and-swap") return this.#state;
    // A snapshot is never named after a record that a late one could still sort before.
    this.#fold(now);
    return this.#base;
  }

  /** Removes records and older snapshots that the snapshot at `position` covers and that are older than the retention. */
  async #removeCovered(position: string, now: number, signal: AbortSignal | undefined): Promise<void> {
    const cutoff = now - this.settings.retentionMs;
    const names = (await this.#listNames(SharedKeys.log)).filter((name) => this.#isRecordName(name));
    const covered = names.filter((name) => name <= position);
    const unknown = covered.filter((name) => !this.#writtenAt.has(name));
    // Records this host never read (a snapshot covered them when it started): their bodies say when.
    await mapLimit(unknown, this.settings.readConcurrency, async (name) => {
      const stored = await this.store.get(`${SharedKeys.log}/${name}`);
      const record = stored && parseChangeRecord(stored.data);
      if (record) this.#writtenAt.set(name, this.#timeOf(name, record.at));
    });
    const old = covered.filter((name) => (this.#writtenAt.get(name) ?? now) <= cutoff);
    // One at a time, oldest first: s3rver prunes emptied directories after each delete and races
    // on parallel ones, and a reader that stops at the first missing record then sees a prefix gone.
    for (const name of old) {
      signal?.throwIfAborted();
      await this.store.delete(`${SharedKeys.log}/${name}`);
      this.#writtenAt.delete(name);
    }
    // An older snapshot is kept while any record it covers is kept: a reader that far behind may
    // still be reading it. The newest one is never removed (it is what covers removed records).
    const removed = new Set(old);
    const kept = names.filter((name) => !removed.has(name));
    const snapshots = (await this.#listNames(SharedKeys.snapshots)).filter((name) => this.#isRecordName(name) && name < position);
    for (const name of snapshots) {
      if (kept.some((record) => record <= name)) continue;
      signal?.throwIfAborted();
      await this.store.delete(`${SharedKeys.snapshots}/${name}`);
    }
  }

  // ---- helpers ----

  /**
   * Whether records this host has not read may have been compacted away since its last list:
   * records are kept for retentionMs after they are written, so not while the list is recent. A
   * retention of 0 makes every list stale.
   */
  #mayHaveMissedCompaction(now: number): boolean {
    return !this.#started || now - this.#listedAt >= this.settings.retentionMs * recentShare;
  }

  #isRecordName(name: string, reportAs?: string): boolean {
    const ok = this.mode === "compare-and-swap" ? parseSequenceName(name) !== undefined && name !== "" : orderedNameTime(name) !== undefined && name !== "";
    if (!ok && reportAs !== undefined) {
      this.#warnOnce(reportAs, SharedTierErrorCode.Corrupt, `${SharedKeys.log}/${name} is not a record name of ${this.mode} mode; ignored`, { name });
    }
    return ok;
  }

  #timeOf(name: string, at: string): number {
    if (this.mode === "ordered-records") return orderedNameTime(name)!;
    const time = Date.parse(at);
    return Number.isFinite(time) ? time : Date.now();
  }

  #noteTime(name: string): void {
    if (this.mode !== "ordered-records") return;
    const time = orderedNameTime(name);
    // A name far in the future (a host whose clock is badly wrong) must not drag every host's
    // names after it: they would never leave the window, and a stalled PUT would go unnoticed.
    if (time !== undefined && time > this.#newestTime && time <= Date.now() + this.settings.pollWindowMs) this.#newestTime = time;
  }

  #forgetUnlisted(listed: ReadonlySet<string>): void {
    for (const name of this.#writtenAt.keys()) if (!listed.has(name)) this.#writtenAt.delete(name);
    for (const name of this.#unparseable.keys()) if (!listed.has(name)) this.#unparseable.delete(name);
  }

  #warnOnce(id: string, code: SharedTierErrorCode, message: string, details: Record<string, unknown>): void {
    if (this.#reported.has(id)) return;
    this.#reported.add(id);
    this.onWarning?.(new SharedTierError(code, message, { details }));
  }
}

/** Full jitter over an exponential ceiling (5 ms doubling to 500 ms), so racing writers spread out. */
function backoffMs(attempt: number): number {
  return Math.random() * Math.min(500, 5 * 2 ** Math.min(attempt, 10));
}

function invalid(message: string, details: Record<string, unknown>): SharedTierError {
  return new SharedTierError(SharedTierErrorCode.InvalidOptions, message, { details });
}
