import { DaemonError, DaemonErrorCode } from "../errors";
import { API_VERSION, MIN_API_VERSION } from "../version";

/** A request path split into the API version it asked for and the route it names. */
export interface VersionedPath {
  /** `/v1.40/images/json` → "1.40"; unversioned paths get {@link API_VERSION}. */
  version: string;
  /** The path without its `/v<version>` prefix. */
  path: string;
}

/** Compares dotted versions numerically ("1.9" < "1.10"), as moby's versions.LessThan. */
export function compareVersions(a: string, b: string): number {
  const x = a.split(".").map(Number);
  const y = b.split(".").map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/**
 * Splits off `/v<version>` (dockerd's `/v{version:[0-9.]+}` route prefix) and checks the version
 * as dockerd's version middleware does, with its messages (400 either side of the range).
 */
export function versionedPath(path: string): VersionedPath {
  const m = /^\/v([0-9.]+)(\/.*)$/.exec(path);
  if (!m) return { version: API_VERSION, path };
  const version = m[1]!;
  if (!acceptedVersions.has(version)) checkVersion(version);
  return { version, path: m[2]! };
}

// Versions found in range, so that a client's every request does not compare them again;
// bounded, since a path may carry any string of digits and dots.
const acceptedVersions = new Set<string>();

function checkVersion(version: string): void {
  if (compareVersions(version, MIN_API_VERSION) < 0) {
    throw new DaemonError(
      DaemonErrorCode.InvalidApiVersion,
      `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`,
    );
  }
  if (compareVersions(version, API_VERSION) > 0) {
    throw new DaemonError(DaemonErrorCode.InvalidApiVersion, `client version ${version} is too new. Maximum supported API version is ${API_VERSION}`);
  }
  if (acceptedVersions.size < 64) acceptedVersions.add(version);
}
