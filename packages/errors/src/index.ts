export { StoreError, errorKind, isStoreError, systemErrorCode } from "./store-error";
export type { StoreErrorOptions } from "./store-error";
export { errorKinds, kindOfCode } from "./error-kind";
export type { ErrorKind } from "./error-kind";
export { causeChain } from "./cause-chain";
