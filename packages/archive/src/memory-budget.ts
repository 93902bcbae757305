import { ArchiveError, ArchiveErrorCode } from "./errors";

/**
 * The most one metadata file of an archive (manifest.json, index.json, a config, `repositories`,
 * a v1 `json`, an OCI manifest) may hold. containerd's archive importer reads each JSON through
 * `io.LimitReader(r, 20 MiB)` (core/images/archive/importer.go, `jsonLimit`, since
 * CVE-2023-25153); containers/image caps a docker-archive's manifest.json at 1 MiB and a config
 * at 4 MiB (internal/iolimits); moby's load has no cap, having untarred the archive to disk
 * first (image/tarexport/load.go). The largest peer's limit, so nothing a peer loads is refused.
 */
export const MAX_METADATA_FILE = 20 << 20;

/**
 * What one archive entry a load remembers (a file, a link) costs beyond its bytes: its path, its
 * record and the map holding it. Charged so that millions of empty entries or links, a few KiB
 * of gzip, cannot grow the load's memory either.
 */
export const ENTRY_COST = 256;

/** Default of {@link MemoryBudget}: what a load keeps in memory of an archive's files, all together. */
export const DEFAULT_MEMORY_BUDGET = 64 << 20;

const mib = (n: number) => (n < 1 << 20 ? `${n} bytes` : `${Math.round((n / (1 << 20)) * 10) / 10} MiB`);

/**
 * The bytes of archive files a load holds in memory at once (small files as they stream by,
 * metadata read back from the spool for the plan), bounded whatever the archive holds: past the
 * budget a small file is spooled to disk instead, and metadata, which the load needs in memory,
 * is refused.
 */
export class MemoryBudget {
  private used = 0;

  constructor(readonly limit: number = DEFAULT_MEMORY_BUDGET) {
    if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`memory budget: ${limit} is not a byte count`);
  }

  /**
   * Takes `size` bytes for a file that could as well wait on disk, if they fit in half the
   * budget: the other half stays for metadata, which may come last (a docker-archive's manifest
   * and configs follow its layers). False, nothing taken, if they do not fit.
   */
  tryTake(size: number): boolean {
    if (this.used + size > this.limit / 2) return false;
    this.used += size;
    return true;
  }

  /** Charges one remembered entry ({@link ENTRY_COST}), or refuses the archive past the budget. */
  takeEntry(path: string): void {
    if (this.used + ENTRY_COST > this.limit) {
      throw new ArchiveError(
        ArchiveErrorCode.Invalid,
        `archive entry ${JSON.stringify(path)}: the archive has more entries than the load's budget of ${mib(this.limit)} holds (${ENTRY_COST} bytes each)`,
        { details: { file: path, limit: this.limit } },
      );
    }
    this.used += ENTRY_COST;
  }

  /**
   * Takes `size` bytes for the metadata file at `path`, or refuses it: larger than
   * {@link MAX_METADATA_FILE}, or past the budget.
   */
  takeMetadata(path: string, size: number, what = `archive entry ${JSON.stringify(path)}`): void {
    if (size > MAX_METADATA_FILE) {
      throw new ArchiveError(ArchiveErrorCode.Invalid, `${what}: ${size} bytes is too large for a metadata file (at most ${mib(MAX_METADATA_FILE)})`, {
        details: { file: path, size, limit: MAX_METADATA_FILE },
      });
    }
    if (this.used + size > this.limit) {
      throw new ArchiveError(
        ArchiveErrorCode.Invalid,
        `${what}: ${size} bytes more of metadata would take the archive's files held in memory past the load's budget of ${mib(this.limit)}`,
        { details: { file: path, size, limit: this.limit } },
      );
    }
    this.used += size;
  }
}
