import { type CliIO, writeLines } from "../cli-io";
import { type OutputFormat, renderRows } from "./go-template";
import { formatTable } from "./table";

/** Prints a listing's rows in the chosen format: table under headers, JSON lines, or template lines. */
export async function printRows(io: CliIO, format: OutputFormat, rows: readonly Record<string, string>[], headers: Record<string, string>): Promise<void> {
  const out = renderRows(format, rows, headers);
  if (out.table) {
    const [header, ...body] = out.table;
    await writeLines(io.stdout, [formatTable(header!, body)]);
  } else {
    await writeLines(io.stdout, out.lines!);
  }
}
