export { ImageReferenceError, ReferenceErrorCode } from "./errors";
export {
  NamedReference,
  defaultTag,
  familiarMatch,
  isNamedReference,
  parseAnyReference,
  parseNormalizedNamed,
  parseReference,
  tagNameOnly,
  trimNamed,
  withDigest,
} from "./reference";
export type { DigestReference } from "./reference";
export { globMatch } from "./glob-match";
export { createReferenceStore, repositoriesKey } from "./reference-store";
export type { Association, ReferenceStore, ReferenceStoreOptions } from "./reference-store";
export type { ReferenceStoreProblem } from "./repositories-file";
