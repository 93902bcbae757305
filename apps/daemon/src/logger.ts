import type { LogLevel } from "./daemon-options";

const order: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, fatal: 4 };

/** Structured logs: one JSON line per entry on stderr, with dockerd's levels. */
export interface Logger {
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
}

/** A logger writing lines at `level` and above to `out`. */
export function createLogger(level: LogLevel, out: { write(text: string): unknown }): Logger {
  return {
    log(at, msg, fields = {}) {
      if (order[at] < order[level]) return;
      out.write(`${JSON.stringify({ time: new Date().toISOString(), level: at, msg, ...fields })}\n`);
    },
  };
}
