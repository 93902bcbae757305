import { humanSize } from "./units";

/** A progress line for long work; silent unless stderr is a terminal, so pipes stay clean. */
export interface Progress {
  /** Advances by `bytes` (and optionally names the current item). */
  tick(bytes: number, label?: string): void;
  done(summary?: string): void;
}

export function createProgress(title: string, total?: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { tick() {}, done() {} };
  let current = 0;
  let label = "";
  let last = 0;
  const started = Date.now();
  const draw = (force = false) => {
    const now = Date.now();
    if (!force && now - last < 100) return;
    last = now;
    const width = 30;
    const bar =
      total && total > 0
        ? `[${"=".repeat(Math.min(width, Math.floor((current / total) * width))).padEnd(width, " ")}] ${humanSize(current)}/${humanSize(total)}`
        : `${humanSize(current)}`;
    const rate = humanSize(current / Math.max(0.001, (now - started) / 1000));
    const line = `${title} ${bar} ${rate}/s ${label}`;
    stream.write(`\r\x1b[2K${line.slice(0, (stream.columns ?? 100) - 1)}`);
  };
  return {
    tick(bytes, l) {
      current += bytes;
      if (l !== undefined) label = l;
      draw();
    },
    done(summary) {
      draw(true);
      stream.write(`\r\x1b[2K${summary ? `${summary}\n` : ""}`);
    },
  };
}
