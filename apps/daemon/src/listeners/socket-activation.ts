import { DaemonError, DaemonErrorCode } from "../errors";

/**
 * The descriptors systemd passed (sd_listen_fds): 3 … 3+LISTEN_FDS-1, when LISTEN_PID is this
 * process.
 */
export function systemdSockets(env: Readonly<Record<string, string | undefined>>): number[] {
  if (Number(env.LISTEN_PID) !== process.pid) return [];
  const n = Number(env.LISTEN_FDS);
  return Number.isSafeInteger(n) && n > 0 ? Array.from({ length: n }, (_, i) => 3 + i) : [];
}

/** The descriptors `fd://` (all passed) or `fd://N` (that one) names; none passed is an error, as dockerd's. */
export function activatedSockets(fd: number | undefined, passed: readonly number[]): number[] {
  if (passed.length === 0 || (fd !== undefined && !passed.includes(fd))) {
    throw new DaemonError(
      DaemonErrorCode.InvalidArgs,
      `no sockets found via socket activation for ${fd === undefined ? "fd://" : `fd://${fd}`}: make sure the service was started by systemd`,
    );
  }
  return fd === undefined ? [...passed] : [fd];
}
