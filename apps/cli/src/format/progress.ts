import type { ProgressEvent, ProgressListener } from "@store/service";
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

/** Draws a service's progress events on a terminal; `onProgress` is undefined elsewhere, so no bytes are counted for nobody. */
export interface ProgressRenderer {
  onProgress: ProgressListener | undefined;
  /** Finishes the bar being drawn. */
  done(): void;
}

/**
 * One bar at a time, as docker's CLI draws a load: a bar per status and id ("Loading layer
 * 0123456789ab"), finished when the next one starts; events without counts are lines of their own.
 */
export function progressRenderer(stream: NodeJS.WriteStream): ProgressRenderer {
  if (!stream.isTTY) return { onProgress: undefined, done() {} };
  let current: { key: string; seen: number; bar: Progress } | undefined;
  const done = () => {
    current?.bar.done();
    current = undefined;
  };
  return {
    onProgress(event: ProgressEvent) {
      if (!event.progressDetail) {
        done();
        stream.write(`${event.id ? `${event.id}: ` : ""}${event.status}\n`);
        return;
      }
      const key = `${event.status}\0${event.id ?? ""}`;
      if (current?.key !== key) {
        done();
        current = { key, seen: 0, bar: createProgress(event.id ? `${event.status} ${event.id}` : event.status, event.progressDetail.total, stream) };
      }
      const now = event.progressDetail.current ?? 0;
      current.bar.tick(now - current.seen);
      current.seen = now;
    },
    done,
  };
}
