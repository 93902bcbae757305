/**
 * Columns aligned like docker's tabwriter (minwidth 10, padding 3): each column as wide as its
 * widest cell plus three spaces, at least ten; the last column unpadded. Like Go's tabwriter a
 * padded cell keeps its padding even when the last cell is empty (`docker history` rows end in
 * spaces when COMMENT is empty), and widths count characters, not UTF-16 units.
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  let columns = 0;
  for (const r of all) columns = Math.max(columns, r.length);
  const widths = new Array<number>(columns).fill(10);
  for (const r of all) {
    for (let col = 0; col < r.length; col++) widths[col] = Math.max(widths[col]!, runeCount(r[col]!) + 3);
  }
  return all.map((r) => r.map((cell, col) => (col === r.length - 1 ? cell : cell + " ".repeat(widths[col]! - runeCount(cell)))).join("")).join("\n");
}

/**
 * Code points in `s`, as Go's tabwriter counts width (utf8.RuneCount), without allocating:
 * spreading every cell into an array was most of the garbage of a 10,000-row listing.
 */
function runeCount(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}
