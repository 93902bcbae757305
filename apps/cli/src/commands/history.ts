import { type Command, flag, stringValue } from "../command";
import { parseOutputFormat } from "../format/go-template";
import { printRows } from "../format/print-rows";
import { humanSize } from "../format/units";
import { truncateId } from "@store/image";
import { createdSince } from "./image-rows";

const defaultTable = "{{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
const headers = { ID: "IMAGE", CreatedSince: "CREATED", CreatedAt: "CREATED AT", CreatedBy: "CREATED BY", Size: "SIZE", Comment: "COMMENT" };

/** docker's formatter.Ellipsis for single-width text: cut to `max` characters ending in "…". */
export function ellipsis(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join("")}…`;
}

/** Go's `time.Unix(s, 0).Format(time.RFC3339)` in UTC. */
function rfc3339(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** `store history`: the steps of an image, newest first, like `docker history`. */
export const historyCommand: Command = {
  name: "history",
  readOnly: true,
  aliases: ["store image history", "store history"],
  usage: "[OPTIONS] IMAGE",
  summary: "Show the history of an image",
  args: { min: 1, max: 1 },
  options: [
    {
      name: "format",
      type: "string",
      help: "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template",
    },
    { name: "no-trunc", type: "boolean", help: "Don't truncate output" },
    { name: "quiet", short: "q", type: "boolean", help: "Only show image IDs" },
  ],
  async run(ctx, args) {
    const trunc = !flag(args, "no-trunc");
    let formatText = stringValue(args, "format");
    if (flag(args, "quiet") && (formatText === undefined || formatText === "" || formatText === "table")) formatText = "{{.ID}}";
    const format = parseOutputFormat(formatText, defaultTable);
    const store = await ctx.store();
    const items = await store.history(args.positionals[0]!);
    const now = Date.now();
    const rows = items.map((h) => {
      const createdBy = h.CreatedBy.replace(/\t/g, " ");
      return {
        Comment: h.Comment,
        CreatedAt: rfc3339(h.Created),
        CreatedBy: trunc ? ellipsis(createdBy, 45) : createdBy,
        CreatedSince: createdSince(h.Created, now),
        ID: trunc && h.Id !== "<missing>" ? truncateId(h.Id) : h.Id,
        Size: humanSize(h.Size, 3),
      };
    });
    await printRows(ctx.io, format, rows, headers);
  },
};
