/**
 * A command line that cannot be run as given (unknown flag, wrong argument count, bad value):
 * exits 125, as docker does for usage errors, and names the help to read.
 */
export class UsageError extends Error {
  /** The command whose help to point at ("store images"), when known. */
  readonly command: string | undefined;

  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }

  override get name(): string {
    return "UsageError";
  }
}

/** docker's exit code for usage errors (and for errors of docker itself rather than the daemon). */
export const USAGE_EXIT_CODE = 125;
