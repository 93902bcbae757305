// Go's formatting, reproduced so our output matches docker's character for character.

/** Go's fmt `%.<precision>g`: shortest form, exponent when exp < -4 or exp >= precision. */
export function formatG(value: number, precision: number): string {
  if (value === 0) return "0";
  if (!Number.isFinite(value)) return value > 0 ? "+Inf" : value < 0 ? "-Inf" : "NaN";
  const [mantissa, expText] = value.toExponential(precision - 1).split("e") as [string, string];
  const exp = Number(expText);
  if (exp < -4 || exp >= precision) {
    const m = mantissa.includes(".") ? mantissa.replace(/\.?0+$/, "") : mantissa;
    const sign = exp < 0 ? "-" : "+";
    return `${m}e${sign}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  const fixed = value.toFixed(Math.max(0, precision - 1 - exp));
  return fixed.includes(".") ? fixed.replace(/\.?0+$/, "") : fixed;
}

/**
 * Go's `time.Time.String()` for a UTC time at second precision, as docker prints CreatedAt:
 * "2026-11-22 17:20:06 +0000 UTC".
 */
export function goTimeString(date: Date): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return (
    `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000 UTC`
  );
}

/**
 * A value as Go's json.Marshal writes it (keys sorted, `<` as \u003c): docker's JSON output.
 * Written once in @store/image, which also writes dockerd's JSON files.
 */
export { goJsonValue as goJson } from "@store/internal";
