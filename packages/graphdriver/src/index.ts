export type { GraphDriver, Change, ChangeKind, CreateOptions, GetOptions } from "./graph-driver";
export { GraphDriverError, GraphDriverErrorCode } from "./errors";
export { registerDriver, unregisterDriver, registeredDrivers, createDriver } from "./driver-registry";
export type { DriverConfig, DriverFactory, RegisterOptions, CreateDriverOptions } from "./driver-registry";
export { assertLayerId } from "./layer-id";
export { S_IFMT, S_IFSOCK, S_IFLNK, S_IFREG, S_IFBLK, S_IFDIR, S_IFCHR, S_IFIFO } from "./linux-syscalls";
export type { LinuxSyscalls } from "./linux-syscalls";
export { cleanPath, entryRelativePath } from "./entry-path";
export { WHITEOUT_PREFIX, WHITEOUT_META_PREFIX, WHITEOUT_OPAQUE_DIR } from "./whiteout-hooks";
export type {
  ApplyHooks,
  ApplyEntryContext,
  ExportHooks,
  ExportEntryContext,
  ExportEntry,
  ExportHeader,
} from "./whiteout-hooks";
export { applyEntries } from "./apply-entries";
export type { ApplyOptions, ApplyResult } from "./apply-entries";
export { layerEntries, deviceNumbers } from "./layer-entries";
export { directoryTar } from "./directory-tar";
export { hostOwnerNames, noOwnerNames } from "./owner-names";
export type { OwnerNames } from "./owner-names";
export type { ExportOptions } from "./layer-entries";
export { layerChanges } from "./layer-changes";
export type { DeletionDetector } from "./layer-changes";
export { directorySize } from "./directory-size";
export { walkTree } from "./walk-tree";
export type { WalkedFile } from "./walk-tree";
export { eventLoopTurns, TURN_BUDGET_MS } from "./event-loop-turn";
export { readChunk } from "./chunk-reader";
export type { ChunkPart, ChunkResult } from "./chunk-reader";
