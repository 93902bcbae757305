import { type ErrorKind, StoreError, type StoreErrorOptions } from "@store/errors";

/** Stable codes of the errors the daemon itself throws (the stores below throw their own). */
export const DaemonErrorCode = {
  /** A wrong command line: unknown flag, missing or bad value. */
  InvalidArgs: "ERR_DAEMON_INVALID_ARGS",
  /** A daemon.json that is not JSON, has unknown keys, or repeats a flag given on the command line. */
  InvalidConfig: "ERR_DAEMON_INVALID_CONFIG",
  /** The data root's writer lock is held by another process (another stored, or a `store` command). */
  RootLocked: "ERR_DAEMON_ROOT_LOCKED",
  /** A daemon answers on the socket already. */
  SocketInUse: "ERR_DAEMON_SOCKET_IN_USE",
  /** `--group` names no group. */
  GroupNotFound: "ERR_DAEMON_GROUP_NOT_FOUND",
  /** A request path's `/v<version>` outside what is served. */
  InvalidApiVersion: "ERR_DAEMON_INVALID_API_VERSION",
  /** No route for the method and path ("page not found", as dockerd). */
  RouteNotFound: "ERR_DAEMON_ROUTE_NOT_FOUND",
  /** A query parameter, header or body the endpoint cannot take. */
  InvalidParameter: "ERR_DAEMON_INVALID_PARAMETER",
  /** Inspect of an image that is not there (dockerd wraps the lookup's message: "no such image: X: …"). */
  ImageNotFound: "ERR_DAEMON_IMAGE_NOT_FOUND",
  /** A second prune while one runs ("a prune operation is already running"). */
  PruneBusy: "ERR_DAEMON_PRUNE_BUSY",
  /** A second disk-usage computation while one runs. */
  DiskUsageBusy: "ERR_DAEMON_DISK_USAGE_BUSY",
  /** What the Engine API offers but this daemon does not (pull of every tag, search). */
  Unsupported: "ERR_DAEMON_UNSUPPORTED",
  /** Work stopped because the daemon is shutting down. */
  Stopping: "ERR_DAEMON_STOPPING",
  /** Work stopped because the client closed the connection. */
  ClientClosed: "ERR_DAEMON_CLIENT_CLOSED",
} as const;
export type DaemonErrorCode = (typeof DaemonErrorCode)[keyof typeof DaemonErrorCode];

/** The kind of each code whose suffix does not say it (see `kindOfCode` in @store/errors). */
export const DaemonErrorKind: Partial<Record<DaemonErrorCode, ErrorKind>> = {
  [DaemonErrorCode.Stopping]: "unavailable",
};

/** Every error the daemon itself throws; branch on `code`. */
export class DaemonError extends StoreError<DaemonErrorCode> {
  constructor(code: DaemonErrorCode, message: string, options: StoreErrorOptions = {}) {
    const kind = options.kind ?? DaemonErrorKind[code];
    super(code, message, kind === undefined ? options : { ...options, kind });
  }
}

/** The exit code of a wrong command line or config (dockerd and docker both use 125 for flag errors). */
export const USAGE_EXIT_CODE = 125;
