/**
 * Go's encoding/json matches object keys to struct fields case-insensitively, the last matching
 * key winning. The archive formats are read through this, so what dockerd accepts (`"config"`
 * for `Config`) is accepted here too.
 */
export function goField(obj: Record<string, unknown>, name: string): unknown {
  const lower = name.toLowerCase();
  let value: unknown;
  for (const key of Object.keys(obj)) if (key === name || key.toLowerCase() === lower) value = obj[key];
  return value;
}

export const isJsonObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
