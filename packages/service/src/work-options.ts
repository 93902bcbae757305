import type { ProgressListener } from "@store/internal";

/** What every operation that does work takes: a way to stop it and a way to watch it. */
export interface WorkOptions {
  /**
   * Stops the operation at the next chunk (also while it waits for bytes that may never come);
   * what it half wrote is undone and it rejects with the signal's reason.
   */
  signal?: AbortSignal;
  /** Progress events (see `@store/internal` progress), shaped as docker's JSON messages. */
  onProgress?: ProgressListener;
}
