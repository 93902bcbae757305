// Go's formatting, reproduced so our output matches docker's character for character.

/**
 * `value` moved to the even neighbour when it lies exactly halfway between two numbers of
 * `precision` significant digits: Go rounds such ties to even (12.125 → "12.12" at %.4g), where
 * JavaScript's toExponential and toFixed round them up ("12.13"). Otherwise `value` unchanged.
 */
function tieToEven(value: number, precision: number): number {
  // toPrecision(100) is exact for every double whose decimal expansion ends within 100 digits,
  // which a tie's must (it ends at the digit after the last kept one).
  const [mantissa, expText] = Math.abs(value).toExponential(99).split("e") as [string, string];
  const digits = mantissa.replace(".", "");
  if (digits[precision] !== "5" || !/^0*$/.test(digits.slice(precision + 1))) return value;
  if (Number(digits[precision - 1]) % 2 === 1) return value; // odd: rounding up reaches the even neighbour
  const truncated = Number(`${digits[0]}.${digits.slice(1, precision)}e${expText}`);
  return value < 0 ? -truncated : truncated;
}

/** Go's fmt `%.<precision>g`: shortest form, exponent when exp < -4 or exp >= precision. */
export function formatG(value: number, precision: number): string {
  if (value === 0) return "0";
  if (!Number.isFinite(value)) return value > 0 ? "+Inf" : value < 0 ? "-Inf" : "NaN";
  value = tieToEven(value, precision);
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
