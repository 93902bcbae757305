import { type ErrorKind, StoreError, type StoreErrorOptions } from "@store/errors";

/** Stable codes of the errors the CLI itself throws (the packages' errors pass through as they are). */
export const CliErrorCode = {
  /** A destructive command without a terminal to confirm on and without `--force`. */
  NotConfirmed: "ERR_CLI_NOT_CONFIRMED",
} as const;
export type CliErrorCode = (typeof CliErrorCode)[keyof typeof CliErrorCode];

/** The kind of each code whose suffix does not say it (see `kindOfCode` in @store/errors). */
export const CliErrorKind: Partial<Record<CliErrorCode, ErrorKind>> = {};

/** Every error the CLI itself throws; branch on `code`. */
export class CliError extends StoreError<CliErrorCode> {
  constructor(code: CliErrorCode, message: string, options: StoreErrorOptions = {}) {
    const kind = options.kind ?? CliErrorKind[code];
    super(code, message, kind === undefined ? options : { ...options, kind });
  }
}
