/**
 * Names of change records, relative to `refs/log/` (snapshots take the name of the last record
 * they cover). Both forms are fixed-width so that the store's lexical key order is the log's order.
 */

const sequencePattern = /^\d{16}$/;
const orderedPattern = /^(\d{13})-(.+)-(\d{6})$/;

/** Compare-and-swap mode: the 16-digit, zero-padded sequence number `sequence`. */
export function sequenceName(sequence: number): string {
  return String(sequence).padStart(16, "0");
}

/** The sequence number a compare-and-swap name holds, 0 for "" (before any), undefined when it is not one. */
export function parseSequenceName(name: string): number | undefined {
  if (name === "") return 0;
  if (!sequencePattern.test(name)) return undefined;
  // Past 2^53 numbers stop counting by one: such a name is nobody's record.
  const sequence = Number(name);
  return Number.isSafeInteger(sequence) ? sequence : undefined;
}

/** Ordered-records mode: `<13-digit ms time>-<hostId>-<6-digit counter>`. */
export function orderedName(timeMs: number, hostId: string, counter: number): string {
  return `${String(timeMs).padStart(13, "0")}-${hostId}-${String(counter % 1_000_000).padStart(6, "0")}`;
}

/** The time (ms) an ordered-records name holds, 0 for "", undefined when it is not one. */
export function orderedNameTime(name: string): number | undefined {
  if (name === "") return 0;
  const match = orderedPattern.exec(name);
  return match ? Number(match[1]) : undefined;
}
