/**
 * The one rule for names the store turns into a file name of its own: imagedb metadata keys
 * (`metadata/sha256/<id>/<key>`) and layerdb mount names (`mounts/<name>`). dockerd validates
 * neither; we must, or a name like "../../x" writes outside the store. One path component of
 * letters, digits, `.`, `_` and `-`, at most 255 bytes (NAME_MAX); not starting with `.` (so not
 * "." or "..", and clear of the ".tmp-" names of atomic writes) nor `-` (never read as an option).
 */
export const safeNamePattern: RegExp = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$/;

/** Whether `name` is a safe single path component by {@link safeNamePattern}. */
export function isSafeName(name: unknown): name is string {
  return typeof name === "string" && safeNamePattern.test(name);
}
