import { systemErrorCode } from "@store/errors";

// Go's texts for the errno values a file argument usually hits (syscall.Errno.Error()).
const goTexts: Record<string, string> = {
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EISDIR: "is a directory",
  ENOTDIR: "not a directory",
  EEXIST: "file exists",
  EROFS: "read-only file system",
  ENOSPC: "no space left on device",
  ELOOP: "too many levels of symbolic links",
  ENAMETOOLONG: "file name too long",
};

/**
 * A failed file operation on a path the user gave, worded as docker's CLI words it
 * (`open /x: no such file or directory`) instead of Node's `ENOENT: no such file or directory,
 * open '/x'`. Errors without a known errno pass through unchanged.
 */
export function fileError(op: string, path: string, error: unknown): unknown {
  const code = systemErrorCode(error);
  const text = code ? goTexts[code] : undefined;
  return text ? new Error(`${op} ${path}: ${text}`, { cause: error }) : error;
}
