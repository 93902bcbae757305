import { UsageError } from "./usage-error";

/** `--filter name=value` flags as the Engine API's filter map (values of one name ORed). */
export function parseFilterFlags(values: readonly string[], command: string): Map<string, string[]> {
  const filters = new Map<string, string[]>();
  for (const v of values) {
    const eq = v.indexOf("=");
    if (eq <= 0) throw new UsageError(`invalid argument "${v}" for "-f, --filter" flag: bad format of filter (expected name=value)`, command);
    const name = v.slice(0, eq).trim().toLowerCase();
    const list = filters.get(name) ?? [];
    list.push(v.slice(eq + 1));
    filters.set(name, list);
  }
  return filters;
}
