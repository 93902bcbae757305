export { InternalError, InternalErrorCode } from "./errors";
export { atomicWriteFile, syncDirectory, writeFileSynced } from "./atomic-write";
export type { SyncFs } from "./atomic-write";
export { AsyncMutex } from "./async-mutex";
export { KeyedLock } from "./keyed-lock";
export { withFileLock } from "./file-lock";
export { mapLimit } from "./map-limit";
export { compareGoStrings, goJsonMap, goJsonString, goJsonStruct, goJsonValue } from "./go-json";
export { isSafeName, safeNamePattern } from "./safe-name";
