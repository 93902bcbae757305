import { type Command, flag, stringValue } from "../command";
import { writeLines } from "../cli-io";
import { parseOutputFormat, renderRows } from "../format/go-template";
import { printRows } from "../format/print-rows";
import { formatTable } from "../format/table";
import { humanSize } from "../format/units";
import { truncateId } from "@store/image";
import { imageHeaders, imageRows } from "./image-rows";

const summaryTable = "{{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";
const summaryHeaders: Record<string, string> = { Active: "ACTIVE", Reclaimable: "RECLAIMABLE", Size: "SIZE", TotalCount: "TOTAL", Type: "TYPE" };
const verboseImages = "{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}";

/** docker's "1.982MB (100%)". */
function reclaimable(bytes: number, total: number): string {
  return total > 0 ? `${humanSize(bytes, 4)} (${Math.trunc((bytes * 100) / total)}%)` : humanSize(bytes, 4);
}

/**
 * `store df`: disk usage like `docker system df` — images (TOTAL, ACTIVE = used by a mount,
 * SIZE = every layer's own bytes, RECLAIMABLE as docker computes it), layers (ACTIVE = used by
 * an image or mount) and mounts; `-v` adds per-image shared and unique sizes and per-layer rows.
 */
export const dfCommand: Command = {
  name: "df",
  readOnly: true,
  aliases: ["store df", "store system df"],
  usage: "[OPTIONS]",
  summary: "Show disk usage of images, layers and mounts",
  args: { min: 0, max: 0 },
  options: [
    {
      name: "format",
      type: "string",
      help: "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template",
    },
    { name: "verbose", short: "v", type: "boolean", help: "Show detailed information on space usage" },
  ],
  async run(ctx, args) {
    const formatText = stringValue(args, "format");
    // As docker's CLI: a plain error (exit 1), checked before any work.
    if (formatText !== undefined && formatText !== "" && flag(args, "verbose")) throw new Error("the verbose and the format options conflict");
    const format = parseOutputFormat(formatText, summaryTable);
    const store = await ctx.store();
    const usage = await store.diskUsage();
    const summaries = usage.images;

    if (!flag(args, "verbose")) {
      // docker's disk-usage row fields (what `--format` templates and `json` see).
      const row = (Type: string, TotalCount: number, Active: number, Size: string, Reclaimable: string) => ({
        Active: String(Active),
        Reclaimable,
        Size,
        TotalCount: String(TotalCount),
        Type,
      });
      const rows = [
        row("Images", summaries.length, usage.activeImages, humanSize(usage.layersSize, 4), reclaimable(usage.imagesReclaimable, usage.layersSize)),
        row("Layers", usage.layers.length, usage.activeLayers, humanSize(usage.layersSize, 4), reclaimable(usage.layersReclaimable, usage.layersSize)),
        row("Mounts", usage.mounts.length, usage.mounts.length, humanSize(usage.mountsSize, 4), humanSize(usage.mountsSize, 4)),
      ];
      await printRows(ctx.io, format, rows, summaryHeaders);
      return;
    }

    const now = Date.now();
    // One row per image under its first tag, as docker's disk-usage table (not one per tag).
    // An image with digests only shows as <none> there too.
    const rows = summaries.map((s) => {
      const firstTag = s.RepoTags[0] === "<none>:<none>" ? s : { ...s, RepoTags: s.RepoTags.slice(0, 1), RepoDigests: [] };
      return imageRows(firstTag, { trunc: true, digests: false, now })[0]!;
    });
    const images = renderRows({ kind: "table", template: verboseImages }, rows, imageHeaders).table!;
    const layerRows = usage.layers.map((l) => [truncateId(l.chainId.toString()), truncateId(l.diffId.toString()), humanSize(l.size, 4), String(l.images)]);
    const mountRows = usage.mounts.map((m) => [m.name, m.parent ? truncateId(m.parent.toString()) : "<none>", humanSize(m.size, 4)]);
    await writeLines(ctx.io.stdout, [
      "Images space usage:",
      "",
      formatTable(images[0]!, images.slice(1)),
      "",
      "Layers space usage:",
      "",
      formatTable(["LAYER ID", "DIFF ID", "SIZE", "IMAGES"], layerRows),
      "",
      "Mounts space usage:",
      "",
      formatTable(["NAME", "LAYER ID", "SIZE"], mountRows),
    ]);
  },
};
