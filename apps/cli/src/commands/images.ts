import { type Command, flag, listValue, stringValue } from "../command";
import { parseFilterFlags } from "../filter-flag";
import { formatFields, parseOutputFormat } from "../format/go-template";
import { printRows } from "../format/print-rows";
import { imageHeaders, imageRows } from "./image-rows";

const defaultTable = "{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
const digestTable = "{{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";

/** `store images`: the listing of `docker images`, same filters, rows and sizes. */
export const imagesCommand: Command = {
  name: "images",
  readOnly: true,
  aliases: ["store image ls", "store image list", "store images"],
  usage: "[OPTIONS] [REPOSITORY[:TAG]]",
  summary: "List images",
  args: { min: 0, max: 1 },
  options: [
    { name: "all", short: "a", type: "boolean", help: "Show all images (default hides intermediate images)" },
    { name: "digests", type: "boolean", help: "Show digests" },
    { name: "filter", short: "f", type: "string", multiple: true, placeholder: "filter", help: "Filter output based on conditions provided" },
    {
      name: "format",
      type: "string",
      help: "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template",
    },
    { name: "no-trunc", type: "boolean", help: "Don't truncate output" },
    { name: "quiet", short: "q", type: "boolean", help: "Only show image IDs" },
  ],
  async run(ctx, args) {
    const filters = parseFilterFlags(listValue(args, "filter"), "store images");
    const repo = args.positionals[0];
    if (repo !== undefined) filters.set("reference", [...(filters.get("reference") ?? []), repo]);
    const digests = flag(args, "digests");
    const quiet = flag(args, "quiet");
    let formatText = stringValue(args, "format");
    if (quiet && (formatText === undefined || formatText === "" || formatText === "table")) formatText = "{{.ID}}";
    let format = parseOutputFormat(formatText, digests ? digestTable : defaultTable);
    if (format.kind === "table" && digests && !format.template.includes("{{.Digest}}")) {
      format = { kind: "table", template: `${format.template}\t{{.Digest}}` };
    }
    const store = await ctx.store();
    const summaries = store.list({ all: flag(args, "all"), filters });
    const now = Date.now();
    const fields = formatFields(format);
    const rows = summaries.flatMap((s) => imageRows(s, { trunc: !flag(args, "no-trunc"), digests, now, fields }));
    if (format.kind === "template" && rows.length === 0) return;
    await printRows(ctx.io, format, rows, imageHeaders);
  },
};
