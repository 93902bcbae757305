/**
 * Columns aligned like docker's tabwriter (minwidth 10, padding 3): each column as wide as its
 * widest cell plus three spaces, at least ten; the last column unpadded. Like Go's tabwriter a
 * padded cell keeps its padding even when the last cell is empty (`docker history` rows end in
 * spaces when COMMENT is empty), and widths count characters, not UTF-16 units.
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const len = (s: string) => [...s].length;
  const columns = Math.max(...all.map((r) => r.length));
  const widths = Array.from({ length: columns }, (_, col) => Math.max(10, ...all.map((r) => len(r[col] ?? "") + 3)));
  return all
    .map((r) => r.map((cell, col) => (col === r.length - 1 ? cell : cell + " ".repeat(widths[col]! - len(cell)))).join(""))
    .join("\n");
}
