// Each peer lives in a file of its own; add one export line per peer.
export { hasRoot, which } from "./system";
export { startS3rver, type S3rverClientConfig, type S3rverPeer, type StartS3rverOptions } from "./s3rver";
export { tarEntries, entryHeader, type EntrySpec } from "./tar-entries";
export { dockerdSkipReason, startDockerd, type DockerCallOptions, type DockerResult, type DockerdPeer, type StartDockerdOptions } from "./dockerd";
export { busyboxSkipReason, buildImage, importBusyboxBase } from "./docker-images";
export { startDockerdOnRoot } from "./dockerd-on-root";
export { registrySkipReason, startRegistry, type RegistryPeer } from "./registry";
export { cephRgwSkipReason, startCephRgw, type CephRgwClientConfig, type CephRgwPeer, type StartCephRgwOptions } from "./ceph-rgw";
