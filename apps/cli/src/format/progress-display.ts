import type { ProgressEvent, ProgressListener } from "@store/service";
import type { TtyWritable } from "../cli-io";
import { defaultTerminalWidth } from "./progress-bar";
import { ProgressLines } from "./progress-lines";

/** Options of {@link createProgressDisplay}. */
export interface ProgressDisplayOptions {
  /** Draw for a terminal (default: the stream's `isTTY`). */
  terminal?: boolean;
  /** Columns (default: the stream's `columns`, else docker's 200); bars need more than 110. */
  width?: number;
  /**
   * On a terminal, redraw one id's bar at most this often (default 100 ms, moby's rate); the
   * latest count is drawn when the interval is up. Status changes and messages are never held.
   */
  intervalMs?: number;
}

/** The progress of a pull, push or load as docker's CLI shows it; see {@link createProgressDisplay}. */
export interface ProgressDisplay {
  /** Draws one event (pass as the operation's `onProgress`). */
  readonly onProgress: ProgressListener;
  /** Draws what is held back, and stops the timer. Call when the operation ends, failed or not. */
  done(): void;
}

/**
 * Draws progress events on `stream` as docker's CLI draws `docker pull` and `docker push`
 * (see {@link ProgressLines}): lines updated in place with bars on a terminal, plain
 * `id: status` lines in a pipe. The one renderer for `store pull`, `store push` and `store load`.
 *
 * @example
 * const display = createProgressDisplay(ctx.io.stderr);
 * try { await store.pull(ref, { onProgress: display.onProgress }); } finally { display.done(); }
 */
export function createProgressDisplay(stream: TtyWritable, options: ProgressDisplayOptions = {}): ProgressDisplay {
  const terminal = options.terminal ?? stream.isTTY === true;
  const state = new ProgressLines({ terminal, width: () => options.width ?? stream.columns ?? defaultTerminalWidth });
  const intervalMs = options.intervalMs ?? 100;
  // Our byte counters report every 1 % or 512 KiB; a fast local pull would redraw thousands
  // of times a second. Per id: the time of its last drawn bar, and the newest bar held back.
  const drawnAt = new Map<string, number>();
  const held = new Map<string, ProgressEvent>();
  let timer: NodeJS.Timeout | undefined;

  const draw = (event: ProgressEvent) => {
    const bytes = state.render(event);
    if (bytes !== "") stream.write(bytes);
  };
  const flush = () => {
    timer = undefined;
    const events = [...held.values()];
    held.clear();
    for (const event of events) {
      if (event.id !== undefined) drawnAt.set(event.id, Date.now());
      draw(event);
    }
  };
  const isBar = (event: ProgressEvent) => {
    const d = event.progressDetail;
    return d !== undefined && ((d.current ?? 0) > 0 || (d.total ?? 0) > 0);
  };

  return {
    onProgress(event) {
      const id = event.id;
      if (terminal && intervalMs > 0 && id !== undefined && isBar(event)) {
        const d = event.progressDetail!;
        const finished = d.total !== undefined && (d.current ?? 0) >= d.total;
        const last = drawnAt.get(id);
        if (!finished && last !== undefined && Date.now() - last < intervalMs) {
          held.set(id, event);
          timer ??= setTimeout(flush, intervalMs).unref();
          return;
        }
        drawnAt.set(id, Date.now());
      }
      // Anything else for this id supersedes its held bar; a message ends the block, so every
      // held bar is drawn first, while its line still belongs to the block.
      if (id !== undefined && event.progressDetail !== undefined) held.delete(id);
      else if (held.size > 0) flush();
      draw(event);
    },
    done() {
      if (timer !== undefined) clearTimeout(timer);
      flush();
    },
  };
}
