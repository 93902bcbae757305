import { type Digest, toDigest } from "@store/digest";
import type { RegistryContent, RequestScope } from "@store/registry-server";
import { parseNormalizedNamed } from "@store/reference";
import type { SharedTier } from "@store/service";
import { type SharedState, blobsOf } from "@store/shared-tier";

/**
 * The shared tier as a registry's content (`--registry-addr`): repositories are the tier's, by
 * the name a client gives. `docker pull ADDR/busybox` asks for `busybox` (Docker Hub's
 * `library/busybox`), a containerd mirror asks for `library/busybox?ns=docker.io`, and
 * `ADDR/team/tool` finds what was pulled from `registry.internal/team/tool` when only one
 * registry's repository has that path. A digest is served only to a repository whose images
 * reach it: holding a digest is not a way to read another repository's content.
 */
export function sharedRegistryContent(tier: SharedTier): RegistryContent {
  /** The tier's full repository names a requested name may mean, best first. */
  const names = (state: SharedState, repository: string, scope: RequestScope): string[] => {
    const out: string[] = [];
    try {
      out.push(parseNormalizedNamed(scope.namespace ? `${scope.namespace}/${repository}` : repository).name);
    } catch {
      // Not a docker name (an uppercase letter, say): only the path match below.
    }
    for (const ref of state.references.keys()) {
      const { name, path } = parseNormalizedNamed(ref);
      if ((path === repository || path === `library/${repository}`) && !out.includes(name)) out.push(name);
    }
    return out;
  };
  const find = (repository: string, scope: RequestScope) => {
    const state = tier.state();
    return { state, names: names(state, repository, scope) };
  };
  return {
    blobs: tier.blobs,
    async resolveTag(repository, tag, scope) {
      const { state, names: candidates } = find(repository, scope);
      for (const name of candidates) {
        const id = state.references.get(`${name}:${tag}`);
        const record = id === undefined ? undefined : state.images.get(id);
        if (record) return { digest: toDigest(record.manifest.digest), mediaType: record.manifest.mediaType };
      }
      return undefined;
    },
    async listTags(repository, scope) {
      const { state, names: candidates } = find(repository, scope);
      for (const name of candidates) {
        const tags = [...state.references.keys()].filter((r) => r.startsWith(`${name}:`)).map((r) => r.slice(name.length + 1));
        if (tags.length > 0) return tags.sort();
      }
      return undefined;
    },
    async hasDigest(repository, digest: Digest, scope) {
      const { state, names: candidates } = find(repository, scope);
      const wanted = digest.toString();
      for (const [ref, id] of state.references) {
        if (!candidates.some((n) => ref.startsWith(`${n}:`) || ref.startsWith(`${n}@`))) continue;
        if (ref.endsWith(`@${wanted}`)) return true;
        const record = state.images.get(id);
        if (record && blobsOf(record).some((d) => d.toString() === wanted)) return true;
      }
      return false;
    },
  };
}
