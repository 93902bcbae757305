import type { ReferenceLog } from "./reference-log";
import type { SharedState } from "./shared-state";

/** A running {@link watchReferenceLog}. */
export interface ReferenceLogWatch {
  /** Stops refreshing; resolves once a refresh in flight has settled. Idempotent. */
  stop(): Promise<void>;
}

/** Options of {@link watchReferenceLog}. */
export interface WatchReferenceLogOptions {
  /** Told of a refresh that failed (the next one is tried all the same); by default failures are dropped. */
  onError?: (error: unknown) => void;
}

/**
 * Refreshes `log` every `intervalMs` (default 250 ms, so a change made on another host shows here
 * within a second) and calls `onChange` with the new state whenever it changed, by this host's
 * appends too. One refresh at a time: the next is scheduled when the last settles. The timer is
 * unref'd, so a watch alone does not keep the process alive.
 */
export function watchReferenceLog(
  log: ReferenceLog,
  intervalMs: number | undefined,
  onChange: (state: SharedState) => void,
  options: WatchReferenceLogOptions = {},
): ReferenceLogWatch {
  const interval = intervalMs ?? 250;
  let last = log.current();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  const controller = new AbortController();

  const tick = async () => {
    try {
      const state = await log.refresh({ signal: controller.signal });
      if (!stopped && state !== last) {
        last = state;
        onChange(state);
      }
    } catch (e) {
      if (!stopped) options.onError?.(e);
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      inFlight = tick().then(schedule);
    }, interval);
    timer.unref();
  };
  schedule();

  return {
    async stop() {
      if (stopped) return inFlight;
      stopped = true;
      clearTimeout(timer);
      controller.abort();
      await inFlight;
    },
  };
}
