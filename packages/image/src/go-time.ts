/**
 * Instants as Go's time.Time writes and reads them in dockerd's files and API: RFC 3339 with
 * nanoseconds (`time.RFC3339Nano`), keeping the zone offset it was written with. JavaScript's
 * Date holds milliseconds only and cannot print year 1 (Go's zero time, what a config without
 * `created` decodes to), so instants are kept as whole seconds plus nanoseconds.
 */
export interface GoTime {
  /** Seconds since the Unix epoch (negative before 1970); what Go's `Unix()` returns. */
  readonly seconds: number;
  /** Nanoseconds within the second, 0 to 999,999,999. */
  readonly nanos: number;
  /** The zone offset east of UTC, in seconds, as written ("+01:00" → 3600; "Z" → 0). */
  readonly offset: number;
}

/** Go's zero time, 0001-01-01T00:00:00Z: what a missing or null `created` decodes to. */
export const zeroTime: GoTime = Object.freeze({ seconds: -62135596800, nanos: 0, offset: 0 });

export function isZeroTime(t: GoTime): boolean {
  return t.seconds === zeroTime.seconds && t.nanos === 0;
}

/** Orders two instants (zone offsets do not matter): negative, zero or positive. */
export function compareTime(a: GoTime, b: GoTime): number {
  return a.seconds !== b.seconds ? a.seconds - b.seconds : a.nanos - b.nanos;
}

// Howard Hinnant's days_from_civil / civil_from_days: exact for any proleptic Gregorian date,
// which Date.UTC is not for years 0-99 (it maps them to 1900-1999).
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(z: number): [number, number, number] {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;
const monthDays = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Parses an RFC 3339 timestamp as Go's time.Time JSON decoding does; undefined when `text` is
 * not one (out-of-range fields included).
 */
export function parseGoTime(text: string): GoTime | undefined {
  const m = rfc3339.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (month < 1 || month > 12 || day < 1 || day > (month === 2 && !leap ? 28 : monthDays[month - 1]!)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offset = 0;
  if (!m[8]) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return undefined;
    offset = (m[9] === "-" ? -1 : 1) * (oh * 3600 + om * 60) || 0; // never -0
  }
  // Go reads any number of fraction digits and keeps nanoseconds.
  const nanos = m[7] ? Number(m[7].slice(0, 9).padEnd(9, "0")) : 0;
  const seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
  return { seconds, nanos, offset };
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** Formats like Go's `t.Format(time.RFC3339Nano)`: trailing zeros of the fraction trimmed, "Z" for UTC. */
export function formatGoTime(t: GoTime): string {
  const local = t.seconds + t.offset;
  const days = Math.floor(local / 86400);
  const secOfDay = local - days * 86400;
  const [y, mo, d] = civilFromDays(days);
  let text = `${pad(y, 4)}-${pad(mo)}-${pad(d)}T${pad(Math.floor(secOfDay / 3600))}:${pad(Math.floor(secOfDay / 60) % 60)}:${pad(secOfDay % 60)}`;
  if (t.nanos > 0) text += `.${pad(t.nanos, 9).replace(/0+$/, "")}`;
  if (t.offset === 0) return `${text}Z`;
  const abs = Math.abs(t.offset);
  return `${text}${t.offset < 0 ? "-" : "+"}${pad(Math.floor(abs / 3600))}:${pad(Math.floor(abs / 60) % 60)}`;
}

/** Whole seconds since the epoch, as Go's `Unix()` (what the listing API calls Created). */
export function unixSeconds(t: GoTime): number {
  return t.seconds;
}

/**
 * The current instant in the local zone, as Go's `time.Now()` that dockerd formats into
 * `lastUpdated`. Sub-millisecond digits come from the high-resolution clock.
 */
export function nowGoTime(): GoTime {
  const ms = performance.timeOrigin + performance.now();
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.min(999_999_999, Math.max(0, Math.round((ms - seconds * 1000) * 1e6)));
  const offset = -new Date(seconds * 1000).getTimezoneOffset() * 60 || 0; // never -0
  return { seconds, nanos, offset };
}

/** The instant of a JavaScript Date, in UTC. */
export function goTimeFromDate(date: Date): GoTime {
  const ms = date.getTime();
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: (ms - seconds * 1000) * 1e6, offset: 0 };
}
