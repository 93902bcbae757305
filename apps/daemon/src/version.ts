/** The daemon's version, kept in step with package.json by hand (the bundle must not read files at run time). */
export const STORED_VERSION = "0.1.0";

/** The newest Engine API version served, and the one unversioned paths get (dockerd 20.10's). */
export const API_VERSION = "1.41";

/**
 * The oldest API version served. dockerd 20.10 accepts 1.12, but below 1.24 its clients read
 * error bodies as plain text and send filters in other shapes; every CLI in use negotiates 1.24
 * or newer (the Go client assumes 1.24 when a daemon names none).
 */
export const MIN_API_VERSION = "1.24";
