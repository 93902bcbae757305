export { createFsBackend } from "./create-fs-backend";
export type { FsBackendOptions } from "./create-fs-backend";
export { FsDriver } from "./fs-driver";
export type { FsDriverOptions } from "./fs-driver";
export type { FsApi, FsFileHandle } from "./fs-api";
