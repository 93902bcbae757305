import type { ProgressEvent } from "@store/service";
import { terminalSafe } from "../terminal-safe";
import { defaultTerminalWidth, formatProgressBar } from "./progress-bar";

/**
 * Turns progress events into the bytes docker's CLI writes for them (moby pkg/jsonmessage
 * `DisplayJSONMessagesStream`), one event at a time, with no clock and no stream of its own; see
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
export class ProgressLines {
  /** Each id's line in the current block, from 0 at the top. */
  #lines = new Map<string, number>();
  readonly #terminal: boolean;
  readonly #width: () => number;

  /**
   * `width`: the terminal's columns, or a function asked at every bar (docker asks the terminal
   * each time, so a resized window gets bars or loses them); default docker's 200.
   */
  constructor(options: { terminal: boolean; width?: number | (() => number) }) {
    this.#terminal = options.terminal;
    const width = options.width ?? defaultTerminalWidth;
    this.#width = typeof width === "number" ? () => width : width;
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
      out += `\x1b[2K\r${prefix}${status} ${formatProgressBar(detail, this.#width())}\r`;
    } else if (detail !== undefined && formatProgressBar(detail, this.#width()) !== "") {
      return ""; // docker draws no bars into a pipe
    } else {
      out += `${prefix}${status}\n`;
    }
    if (this.#terminal && diff > 0) out += `\x1b[${diff}B`;
    return out;
  }
}
