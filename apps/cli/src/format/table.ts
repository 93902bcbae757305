/**
 * Columns aligned like docker's tabwriter (minwidth 10, padding 3): each column as wide as its
 * widest cell plus three spaces, at least ten; the last column unpadded.
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, col) => Math.max(10, ...all.map((r) => (r[col] ?? "").length + 3)));
  return all
    .map((r) =>
      r
        .map((cell, col) => (col === r.length - 1 ? cell : cell.padEnd(widths[col]!)))
        .join("")
        .trimEnd(),
    )
    .join("\n");
}
