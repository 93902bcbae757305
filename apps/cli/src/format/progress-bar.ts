import type { ProgressDetail } from "@store/service";
import { humanSize } from "./units";

/** The terminal width docker assumes when it cannot ask the terminal (jsonmessage's default). */
export const defaultTerminalWidth = 200;

/**
 * A progress detail as docker's CLI draws it after the status (moby pkg/jsonmessage
 * `JSONProgress.String()`), character for character:
 * - nothing counted yet (no current, no total): "" (the status stands alone);
 * - no total: the bytes so far, right-aligned in 8 (`  1.05MB`);
 * - else a 50-wide bar `[=====>      ] ` when the terminal is wider than 110 columns, then
 *   `current/total` with current right-aligned in 8 (`[==>   ]  36.45kB/1.065MB`), or current
 *   alone when it ran past the total.
 *
 * Sizes are go-units' HumanSize (decimal units, four significant digits). Docker's time-left
 * estimate needs the start time, which our events do not carry, so it is never shown (the
 * daemon's pull and push messages carry none either).
 */
export function formatProgressBar(detail: ProgressDetail, width: number = defaultTerminalWidth): string {
  const current = detail.current ?? 0;
  const total = detail.total ?? 0;
  if (current <= 0 && total <= 0) return "";
  const size = (n: number) => humanSize(n, 4).padStart(8);
  if (total <= 0) return size(current);
  const percentage = Math.min(50, Math.trunc(Math.trunc((current / total) * 100) / 2));
  const bar = width > 110 ? `[${"=".repeat(percentage)}>${" ".repeat(Math.max(0, 50 - percentage))}] ` : "";
  return bar + (current > total ? size(current) : `${size(current)}/${humanSize(total, 4)}`);
}
