import type { Digest } from "@store/digest";
import type { RegistryContent, RequestScope } from "./registry-content";

/** Whether `repository` may see `digest`: the content's `hasDigest`, or yes when it has none. */
export function visible(content: RegistryContent, repository: string, digest: Digest, scope: RequestScope): Promise<boolean> {
  return content.hasDigest ? content.hasDigest(repository, digest, scope) : Promise.resolve(true);
}
