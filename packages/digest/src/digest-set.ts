import { isAlgorithm } from "./algorithm";
import type { Digest } from "./digest";
import { DigestError, DigestErrorCode } from "./errors";

const prefixChars = /^[a-f0-9]*$/;

function compare(a: Digest, b: Digest): number {
  if (a.encoded !== b.encoded) return a.encoded < b.encoded ? -1 : 1;
  return a.algorithm < b.algorithm ? -1 : a.algorithm > b.algorithm ? 1 : 0;
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/**
 * A set of digests searchable by any prefix of their hex, as moby's digestset (`docker inspect
 * 8d25`). Digests are kept sorted by hex; a lookup is a binary search. Additions and removals
 * are batched and merged into the sorted array at the next read, so loading a million digests
 * costs one sort rather than a million insertions.
 */
export class DigestSet {
  // Membership by full string; the sorted array may hold removed entries until the next merge.
  readonly #members = new Map<string, Digest>();
  #sorted: Digest[] = [];
  #pending: Digest[] = [];
  #removed = 0;

  constructor(digests: Iterable<Digest> = []) {
    for (const d of digests) this.add(d);
  }

  get size(): number {
    return this.#members.size;
  }

  /** Adds a digest; adding one already present does nothing. */
  add(digest: Digest): void {
    const key = digest.toString();
    if (this.#members.has(key)) return;
    this.#members.set(key, digest);
    this.#pending.push(digest);
  }

  /** Removes a digest; returns whether it was present. */
  remove(digest: Digest): boolean {
    if (!this.#members.delete(digest.toString())) return false;
    this.#removed++;
    return true;
  }

  has(digest: Digest): boolean {
    return this.#members.has(digest.toString());
  }

  /** Every digest, sorted by hex. */
  list(): Digest[] {
    return [...this.#view()];
  }

  [Symbol.iterator](): Iterator<Digest> {
    return this.#view()[Symbol.iterator]();
  }

  /**
   * Finds the one digest matching `search`: a hex prefix of any length, optionally preceded by
   * `algorithm:`. Throws ERR_DIGEST_NOT_FOUND when none matches, ERR_DIGEST_AMBIGUOUS when more
   * than one does (unless one matches exactly), ERR_DIGEST_INVALID_FORMAT for characters no
   * digest has.
   */
  lookup(search: string): Digest {
    let algorithm: string | undefined;
    let hex = search;
    const colon = search.indexOf(":");
    if (colon >= 0) {
      algorithm = search.slice(0, colon);
      hex = search.slice(colon + 1);
      if (!isAlgorithm(algorithm)) {
        throw new DigestError(DigestErrorCode.InvalidFormat, `invalid digest search ${JSON.stringify(search)}: unknown algorithm`, {
          details: { input: search },
        });
      }
    }
    if (!prefixChars.test(hex)) {
      throw new DigestError(DigestErrorCode.InvalidFormat, `invalid digest search ${JSON.stringify(search)}: not a hex prefix`, {
        details: { input: search },
      });
    }
    const notFound = () => new DigestError(DigestErrorCode.NotFound, `no digest matches ${JSON.stringify(search)}`, { details: { input: search } });
    if (hex.length === 0) throw notFound();

    const sorted = this.#view();
    let found: Digest | undefined;
    for (let i = this.#lowerBound(sorted, hex); i < sorted.length; i++) {
      const d = sorted[i]!;
      if (!d.encoded.startsWith(hex)) break;
      if (algorithm !== undefined && d.algorithm !== algorithm) continue;
      // Sorted by hex, an exact match comes before every longer digest it prefixes: it wins.
      if (found === undefined && d.encoded === hex) return d;
      if (found !== undefined) {
        throw new DigestError(DigestErrorCode.Ambiguous, `digest search ${JSON.stringify(search)} is ambiguous: matches ${found} and ${d}`, {
          details: { input: search, matches: [found.toString(), d.toString()] },
        });
      }
      found = d;
    }
    if (!found) throw notFound();
    return found;
  }

  /**
   * The shortest prefix of `digest`'s hex that no other member shares, at least `minLength`
   * long (docker shows 12). Throws ERR_DIGEST_NOT_FOUND when `digest` is not a member.
   */
  shortestUniquePrefix(digest: Digest, minLength = 0): string {
    if (!this.has(digest)) {
      throw new DigestError(DigestErrorCode.NotFound, `${digest} is not in the set`, { details: { input: digest.toString() } });
    }
    const sorted = this.#view();
    const i = this.#lowerBound(sorted, digest.encoded);
    let need = 0;
    // Neighbours in sort order share the longest prefixes; skip entries with the same hex
    // under another algorithm, which no prefix can tell apart.
    for (let j = i - 1; j >= 0; j--) {
      if (sorted[j]!.encoded !== digest.encoded) {
        need = Math.max(need, commonPrefix(sorted[j]!.encoded, digest.encoded) + 1);
        break;
      }
    }
    for (let j = i + 1; j < sorted.length; j++) {
      if (sorted[j]!.encoded !== digest.encoded) {
        need = Math.max(need, commonPrefix(sorted[j]!.encoded, digest.encoded) + 1);
        break;
      }
    }
    return digest.encoded.slice(0, Math.min(digest.encoded.length, Math.max(need, minLength)));
  }

  #lowerBound(sorted: Digest[], hex: string): number {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]!.encoded < hex) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #view(): Digest[] {
    if (this.#pending.length === 0 && this.#removed === 0) return this.#sorted;
    const live = this.#removed === 0 ? this.#sorted : this.#sorted.filter((d) => this.#members.get(d.toString()) === d);
    const added = this.#pending.filter((d) => this.#members.get(d.toString()) === d).sort(compare);
    this.#sorted = merge(live, added);
    this.#pending = [];
    this.#removed = 0;
    return this.#sorted;
  }
}

function merge(a: Digest[], b: Digest[]): Digest[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const out = new Array<Digest>(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = compare(a[i]!, b[j]!) <= 0 ? a[i++]! : b[j++]!;
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}
