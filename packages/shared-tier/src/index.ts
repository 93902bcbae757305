export { SharedTierError, SharedTierErrorCode } from "./errors";
export { SharedKeys } from "./layout";
export type { ChangeRecord, ReferenceChange, SharedImageRecord, SharedLayer } from "./references/reference-change";
export type { ReferenceLog } from "./references/reference-log";
export type { SharedState } from "./references/shared-state";
export type { HostLeases, LeaseHold, LeaseRecord } from "./leases/host-leases";
export type { EnsureBlob, EnsureBlobOptions, IngestContext } from "./ingest/ensure-blob";
export type { CollectGarbage, CollectGarbageOptions, GarbageReport } from "./gc/collect-garbage";
