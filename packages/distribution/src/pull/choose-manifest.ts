import type { Digest } from "@store/digest";
import {
  type Descriptor,
  type ImageManifest,
  type Platform,
  type Repository,
  type RequestOptions,
  hostPlatform,
  noMatchingManifest,
  selectManifests,
} from "@store/registry";
import { DistributionError, DistributionErrorCode } from "../errors";

/** What a tag or digest came to: the image manifest for the platform, and the digest to record. */
export interface ChosenManifest {
  /** The digest the reference resolved to (an index's, for a multi-platform image): what RepoDigests record. */
  digest: Digest;
  /** The image manifest chosen (the index's entry for the platform, or the manifest itself). */
  manifest: ImageManifest;
  /** Its digest. */
  manifestDigest: Digest;
  /** Every manifest and index fetched on the way, verified: kept so a push can tell where the image came from. */
  documents: { digest: Digest; bytes: Uint8Array }[];
}

// An index inside an index inside… is legal; a registry that nests without end is not.
const MAX_INDEX_DEPTH = 4;

/**
 * Resolves `reference` (a tag, or a digest) and fetches what it points at, verified; an index is
 * followed to the entry for `platform` (default: this host's) as containerd's matcher ranks them,
 * nested indexes included.
 */
export async function chooseManifest(
  repo: Repository,
  reference: string,
  platform: Platform | undefined,
  options: RequestOptions = {},
): Promise<ChosenManifest> {
  const wanted = platform ?? hostPlatform();
  const top = reference.includes(":") ? await repo.fetchManifest(reference, options) : await fetchResolved(repo, reference, options);
  const digest = top.descriptor.digest;
  const documents = [{ digest, bytes: top.bytes }];
  let current = { digest, parsed: top.manifest };
  for (let depth = 0; current.parsed.kind === "index"; depth++) {
    if (depth >= MAX_INDEX_DEPTH) {
      throw new DistributionError(DistributionErrorCode.ManifestInvalid, `index ${current.digest} nests more than ${MAX_INDEX_DEPTH} indexes deep`);
    }
    const candidates = selectManifests(current.parsed, wanted);
    const chosen: Descriptor | undefined = candidates[0];
    if (!chosen) throw noMatchingManifest(wanted);
    const fetched = await repo.fetchManifest(chosen.digest, options);
    documents.push({ digest: chosen.digest, bytes: fetched.bytes });
    current = { digest: chosen.digest, parsed: fetched.manifest };
  }
  return { digest, manifest: current.parsed, manifestDigest: current.digest, documents };
}

/** A tag: HEAD for the digest (a manifest GET counts as a pull on Docker Hub), then GET by digest, verified. */
async function fetchResolved(repo: Repository, tag: string, options: RequestOptions) {
  const descriptor = await repo.resolve(tag, options);
  return repo.fetchManifest(descriptor.digest, options);
}
