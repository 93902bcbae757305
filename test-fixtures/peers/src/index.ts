// Each peer lives in a file of its own; add one export line per peer.
export { hasRoot, which } from "./system";
export { startS3rver, type S3rverClientConfig, type S3rverPeer, type StartS3rverOptions } from "./s3rver";
export { tarEntries, entryHeader, type EntrySpec } from "./tar-entries";
export { dockerdSkipReason, startDockerd, type DockerCallOptions, type DockerResult, type DockerdPeer, type StartDockerdOptions } from "./dockerd";
export { busyboxSkipReason, buildImage, importBusyboxBase } from "./docker-images";
export { startDockerdOnRoot } from "./dockerd-on-root";
export { registrySkipReason, startRegistry, type RegistryPeer, type StartRegistryOptions } from "./registry";
export { cephRgwSkipReason, startCephRgw, type CephRgwClientConfig, type CephRgwPeer, type StartCephRgwOptions } from "./ceph-rgw";
export { createTestCa, opensslSkipReason, type IssuedCert, type TestCa } from "./test-ca";
export { htpasswdLine } from "./htpasswd";
export {
  startTokenServer,
  type ResourceAccess,
  type StartTokenServerOptions,
  type TokenAccessPolicy,
  type TokenRequest,
  type TokenServerPeer,
} from "./token-server";
export { writeDockerArchive, type LayerFiles, type WrittenArchive } from "./docker-archive";
export { pushArchiveToRegistry, skopeoCopy, skopeoSkipReason, type SkopeoRegistryOptions } from "./skopeo";
export { startFaultProxy, type Fault, type FaultProxyPeer, type FaultRule, type ProxiedRequest, type StartFaultProxyOptions } from "./fault-proxy";
