export { StoreError, isStoreError, systemErrorCode } from "./store-error";
export type { StoreErrorOptions } from "./store-error";
