import { type ImageSummary, truncateId } from "@store/image";
import { parseNormalizedNamed } from "@store/reference";
import { goTimeString } from "../format/go-format";
import { humanDuration, humanSize } from "../format/units";

/** One printed row of `docker images`: the fields its templates and `--format json` see. */
export interface ImageRow extends Record<string, string> {
  Containers: string;
  CreatedAt: string;
  CreatedSince: string;
  Digest: string;
  ID: string;
  Repository: string;
  Tag: string;
  SharedSize: string;
  Size: string;
  UniqueSize: string;
  VirtualSize: string;
}

/** Column headers of the image fields (docker's formatter). */
export const imageHeaders: Record<string, string> = {
  Containers: "CONTAINERS",
  CreatedAt: "CREATED AT",
  CreatedSince: "CREATED",
  Digest: "DIGEST",
  ID: "IMAGE ID",
  Repository: "REPOSITORY",
  SharedSize: "SHARED SIZE",
  Size: "SIZE",
  Tag: "TAG",
  UniqueSize: "UNIQUE SIZE",
  VirtualSize: "VIRTUAL SIZE",
};

export function createdSince(unixSeconds: number, now = Date.now()): string {
  return `${humanDuration(now - unixSeconds * 1000)} ago`;
}

function isDangling(s: ImageSummary): boolean {
  if (s.RepoTags.length === 0 && s.RepoDigests.length === 0) return true;
  return s.RepoTags.length === 1 && s.RepoTags[0] === "<none>:<none>" && s.RepoDigests.length === 1 && s.RepoDigests[0] === "<none>@<none>";
}

/**
 * The rows docker's CLI prints for one image (its imageFormatTaggedAndDigest): one per tag, or
 * per tag and digest with `--digests`; digest-only repositories get a `<none>` tag row; an
 * untagged image one `<none>` row. Repositories keep the listing's order (Go's map order is random).
 */
export function imageRows(s: ImageSummary, options: { trunc: boolean; digests: boolean; now?: number; fields?: ReadonlySet<string> | undefined }): ImageRow[] {
  // Only the fields the output shows are formatted (the rest are ""): the default table uses
  // five of eleven, and formatting times and sizes for 10,000 rows is not free.
  const want = (field: string) => options.fields === undefined || options.fields.has(field);
  const base = {
    Containers: !want("Containers") ? "" : s.Containers === -1 ? "N/A" : String(s.Containers),
    CreatedAt: want("CreatedAt") ? goTimeString(new Date(s.Created * 1000)) : "",
    CreatedSince: want("CreatedSince") ? createdSince(s.Created, options.now) : "",
    ID: options.trunc ? truncateId(s.Id) : s.Id,
    SharedSize: !want("SharedSize") ? "" : s.SharedSize === -1 ? "N/A" : humanSize(s.SharedSize, 4),
    Size: want("Size") ? humanSize(s.Size, 3) : "",
    UniqueSize: !want("UniqueSize") ? "" : s.SharedSize === -1 ? "N/A" : humanSize(s.Size - s.SharedSize, 4),
    VirtualSize: want("VirtualSize") ? humanSize(s.VirtualSize, 4) : "",
  };
  // Keys in sorted order: `{{json .}}` prints them as docker's MarshalJSON does. Written out
  // rather than sorted per row: building and sorting an object per row was a third of listing
  // 10,000 images (a test checks the order).
  const row = (Repository: string, Tag: string, Digest: string): ImageRow => ({
    Containers: base.Containers,
    CreatedAt: base.CreatedAt,
    CreatedSince: base.CreatedSince,
    Digest,
    ID: base.ID,
    Repository,
    SharedSize: base.SharedSize,
    Size: base.Size,
    Tag,
    UniqueSize: base.UniqueSize,
    VirtualSize: base.VirtualSize,
  });
  if (isDangling(s)) return [row("<none>", "<none>", "<none>")];

  const tags = new Map<string, string[]>();
  const digests = new Map<string, string[]>();
  for (const t of s.RepoTags) {
    try {
      const ref = parseNormalizedNamed(t);
      if (ref.tag !== undefined) tags.set(ref.familiarName, [...(tags.get(ref.familiarName) ?? []), ref.tag]);
    } catch {
      // docker skips references it cannot parse
    }
  }
  for (const d of s.RepoDigests) {
    try {
      const ref = parseNormalizedNamed(d);
      if (ref.digest) digests.set(ref.familiarName, [...(digests.get(ref.familiarName) ?? []), ref.digest.toString()]);
    } catch {
      // as above
    }
  }
  const rows: ImageRow[] = [];
  for (const [repo, repoTags] of tags) {
    const repoDigests = options.digests ? (digests.get(repo) ?? []) : [];
    digests.delete(repo);
    for (const tag of repoTags) {
      if (repoDigests.length === 0) rows.push(row(repo, tag, "<none>"));
      for (const d of repoDigests) rows.push(row(repo, tag, d));
    }
  }
  for (const [repo, repoDigests] of digests) {
    if (options.digests) for (const d of repoDigests) rows.push(row(repo, "<none>", d));
    else rows.push(row(repo, "<none>", ""));
  }
  return rows;
}
