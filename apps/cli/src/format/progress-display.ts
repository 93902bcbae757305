import type { ProgressEvent, ProgressListener } from "@store/service";
import type { TtyWritable } from "../cli-io";
import { terminalSafe } from "../terminal-safe";
import { defaultTerminalWidth, formatProgressBar } from "./progress-bar";

/**
 * Turns progress events into the bytes docker's CLI writes for them (moby pkg/jsonmessage
 * `DisplayJSONMessagesStream`), one event at a time. Pure: no clock, no stream; see
 * {@link createProgressDisplay} for the throttled writer around it.
 *
 * On a terminal, each `id` whose events carry a `progressDetail` owns one line, updated in
 * place: its first event opens a line, and every event moves the cursor up to its line
 * (`ESC[nA`), erases it (`ESC[2K`), writes `id: status progress` and moves back down (`ESC[nB`).
 * An event without `progressDetail` (a message: "latest: Pulling from library/busybox",
 * "Digest: sha256:…") is a line of its own and ends the block: later ids start a new one, as
 * docker's does between the tags of `pull -a`.
 *
 * Piped, there are no escapes and no bars: messages and status changes print as `id: status`
 * lines, and events with a byte count to draw are left out.
 */
export class ProgressRenderState {
  /** Each id's line in the current block, from 0 at the top. */
  #lines = new Map<string, number>();
  readonly #terminal: boolean;
  readonly #width: number;

  constructor(options: { terminal: boolean; width?: number }) {
    this.#terminal = options.terminal;
    this.#width = options.width ?? defaultTerminalWidth;
  }

  /** The bytes to write for `event` ("" when a piped stream shows nothing for it). */
  render(event: ProgressEvent): string {
    const status = terminalSafe(event.status);
    const id = event.id === undefined || event.id === "" ? undefined : terminalSafe(event.id);
    const detail = event.progressDetail;
    let out = "";
    let diff = 0;
    if (id !== undefined && detail !== undefined) {
      let line = this.#lines.get(id);
      if (line === undefined) {
        line = this.#lines.size;
        this.#lines.set(id, line);
        if (this.#terminal) out += "\n";
      }
      diff = this.#lines.size - line;
      if (this.#terminal) out += `\x1b[${diff}A`;
    } else {
      this.#lines = new Map();
    }
    const prefix = id === undefined ? "" : `${id}: `;
    if (detail !== undefined && this.#terminal) {
      out += `\x1b[2K\r${prefix}${status} ${formatProgressBar(detail, this.#width)}\r`;
    } else if (detail !== undefined && formatProgressBar(detail, this.#width) !== "") {
      return ""; // docker draws no bars into a pipe
    } else {
      out += `${prefix}${status}\n`;
    }
    if (this.#terminal && diff > 0) out += `\x1b[${diff}B`;
    return out;
  }
}

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
 * (see {@link ProgressRenderState}): lines updated in place with bars on a terminal, plain
 * `id: status` lines in a pipe. The one renderer for `store pull`, `store push` and `store load`.
 *
 * @example
 * const display = createProgressDisplay(ctx.io.stderr);
 * try { await store.pull(ref, { onProgress: display.onProgress }); } finally { display.done(); }
 */
export function createProgressDisplay(stream: TtyWritable, options: ProgressDisplayOptions = {}): ProgressDisplay {
  const terminal = options.terminal ?? stream.isTTY === true;
  const state = new ProgressRenderState({ terminal, width: options.width ?? stream.columns ?? defaultTerminalWidth });
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
