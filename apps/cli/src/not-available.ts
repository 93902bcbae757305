import { StoreError } from "@store/errors";

/** The error of a command whose implementation has not landed yet (load and save wait on @store/archive). */
export function notYetAvailable(command: string, what: string): StoreError {
  return new StoreError("ERR_CLI_NOT_AVAILABLE", `${command} is not yet available: ${what}`, { details: { command } });
}
