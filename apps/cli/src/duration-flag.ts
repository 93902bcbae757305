import { UsageError } from "./usage-error";

const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A duration flag as docker's Go flags read one (`time.ParseDuration`): a sequence of numbers
 * with units `ms`, `s`, `m`, `h` ("1h", "90m", "1h30m", "0s"); bare `0` is zero. In milliseconds.
 */
export function parseDurationFlag(text: string, flagName: string, command: string): number {
  if (text === "0") return 0;
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;
  let total = 0;
  let at = 0;
  while (at < text.length) {
    part.lastIndex = at;
    const m = part.exec(text);
    if (!m) break;
    total += Number(m[1]) * unitMs[m[2]!]!;
    at = part.lastIndex;
  }
  if (text.length === 0 || at !== text.length) {
    throw new UsageError(`invalid --${flagName} ${JSON.stringify(text)}: a duration such as 1h, 30m or 90s`, command);
  }
  return total;
}
