/**
 * What kind of failure an error is, independent of which package raised it: the few categories
 * a front end maps to a status (containerd's errdefs). A daemon turns `notFound` into HTTP 404,
 * `conflict` into 409, `invalid` into 400, `unavailable` into 503, and the rest into 500, in one
 * table, instead of one per error code.
 */
export type ErrorKind =
  /** The named thing (image, layer, digest, key, tag) does not exist. */
  | "notFound"
  /** It exists already, is in use, is locked, or changed since it was read (a failed compare-and-swap). */
  | "conflict"
  /** The caller's input is malformed or refused: a bad digest, name, option or archive. */
  | "invalid"
  /** Content does not match what it claims to be (digest, size or diffID mismatch, damage on disk). */
  | "dataLoss"
  /** What is asked is not supported by this implementation or configuration. */
  | "unsupported"
  /** The operation was aborted (a signal, a closed store). */
  | "canceled"
  /** A dependency (disk, network, S3, a peer) failed or is not reachable; retrying may help. */
  | "unavailable"
  /** A bug or an unclassified failure. */
  | "internal";

export const errorKinds: readonly ErrorKind[] = ["notFound", "conflict", "invalid", "dataLoss", "unsupported", "canceled", "unavailable", "internal"];

// Ordered: the first rule whose pattern matches the code wins. Codes are ERR_<PACKAGE>_<WHAT>, so
// the rules look at <WHAT>; a package whose code does not fit passes `kind` explicitly instead.
const rules: readonly (readonly [RegExp, ErrorKind])[] = [
  [/_(NOT_FOUND|MISSING(_[A-Z]+)*|GONE|NOT_RETAINED)$/, "notFound"],
  [/_(EXISTS|CONFLICT|IN_USE|BUSY|LOCKED|AMBIGUOUS|NOT_EMPTY|VERSION_MISMATCH)$/, "conflict"],
  [/_(MISMATCH|VERIFICATION_FAILED|CORRUPT(_[A-Z]+)*|CRC_MISMATCH|SIZE_MISMATCH|TRUNCATED)$/, "dataLoss"],
  [/_(UNSUPPORTED(_[A-Z]+)*|NOT_AVAILABLE|NOT_IMPLEMENTED)$/, "unsupported"],
  [/_(ABORTED|CANCELED|CANCELLED|CLOSED|INTERRUPTED)$/, "canceled"],
  [/_(IO|UNAVAILABLE|TIMEOUT|NETWORK|MOUNT_FAILED|APPLY_FAILED|PERMISSION|NO_SPACE)$/, "unavailable"],
  [/_(INVALID(_[A-Z]+)*|EMPTY(_[A-Z]+)*|BREAKOUT|DUPLICATE(_[A-Z]+)*|MAX_DEPTH|NOT_CONFIRMED|NO_STORE|[A-Z]+_ARG(S)?)$/, "invalid"],
];

/** The kind a code names by its suffix (`ERR_LAYER_NOT_FOUND` → `notFound`); `internal` when none fits. */
export function kindOfCode(code: string): ErrorKind {
  for (const [pattern, kind] of rules) if (pattern.test(code)) return kind;
  return "internal";
}
