import type { Platform } from "../descriptor";
import { RegistryError, RegistryErrorCode } from "../errors";
import type { ImageIndex, IndexEntry } from "../manifest/manifest";
import { hostPlatform } from "./host-platform";
import { formatPlatform } from "./normalize-platform";
import { type PlatformKey, platformMatches, platformVector } from "./platform-vector";

// BuildKit's attestation manifests sit in an index as `unknown/unknown`, with this annotation.
const referenceTypeAnnotation = "vnd.docker.reference.type";

function isAttestation(entry: IndexEntry): boolean {
  return (
    (entry.platform?.os === "unknown" && entry.platform.architecture === "unknown") || entry.annotations?.[referenceTypeAnnotation] === "attestation-manifest"
  );
}

function rank(vector: readonly PlatformKey[], platform: Platform): number {
  return vector.findIndex((target) => platformMatches(target, platform));
}

/**
 * The entries of `index` an image for `platform` (default: {@link hostPlatform}) may be pulled
 * from, best first, as dockerd chooses them (moby's `filterManifests` over containerd's
 * `platforms.Only`): an entry matches when its normalised os/architecture/variant is one of
 * {@link platformVector}'s, and ranks by the first it matches; entries without a platform match
 * too and come last, in index order. Never returned: entries of media types this client does not
 * read (`supported: false`, which OCI says to skip) and attestation manifests (`unknown/unknown`).
 * A nested index is returned as a candidate like a manifest: the caller fetches and recurses.
 *
 * Empty when nothing fits: the caller throws {@link noMatchingManifest}.
 */
export function selectManifests(index: ImageIndex, platform: Platform = hostPlatform()): IndexEntry[] {
  const vector = platformVector(platform);
  const ranked: { entry: IndexEntry; rank: number }[] = [];
  for (const entry of index.manifests) {
    if (!entry.supported || isAttestation(entry)) continue;
    if (entry.platform === undefined) {
      ranked.push({ entry, rank: Number.POSITIVE_INFINITY });
      continue;
    }
    const r = rank(vector, entry.platform);
    if (r >= 0) ranked.push({ entry, rank: r });
  }
  // Array.prototype.sort is stable: equal ranks keep the index's order, as moby's SliceStable.
  return ranked.sort((a, b) => (a.rank === b.rank ? 0 : a.rank < b.rank ? -1 : 1)).map((r) => r.entry);
}

/**
 * dockerd's error for an index without an entry for `platform`, word for word: "no matching
 * manifest for linux/arm64/v8 in the manifest list entries" (`ERR_REGISTRY_PLATFORM_NOT_FOUND`).
 */
export function noMatchingManifest(platform: Platform): RegistryError {
  const name = formatPlatform(platform);
  return new RegistryError(RegistryErrorCode.PlatformNotFound, `no matching manifest for ${name} in the manifest list entries`, {
    details: { platform: name },
  });
}
