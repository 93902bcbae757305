export { ReferenceError, ReferenceErrorCode } from "./errors";
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
export { createReferenceStore } from "./reference-store";
export type { Association, ReferenceStore, ReferenceStoreOptions, ReferenceStoreProblem } from "./reference-store";
