import { type Command, flag, listValue } from "../command";
import { write } from "../cli-io";
import { confirm } from "../confirm";
import { parseFilterFlags } from "../filter-flag";
import { humanSize } from "../format/units";

/** `store image prune`: deletes dangling (with -a, every unused) image, as `docker image prune`. */
export const imagePruneCommand: Command = {
  name: "image prune",
  usage: "[OPTIONS]",
  summary: "Remove unused images",
  args: { min: 0, max: 0 },
  options: [
    { name: "all", short: "a", type: "boolean", help: "Remove all unused images, not just dangling ones" },
    { name: "filter", type: "string", multiple: true, placeholder: "filter", help: 'Provide filter values (e.g. "until=<timestamp>")' },
    { name: "force", short: "f", type: "boolean", help: "Do not prompt for confirmation" },
  ],
  async run(ctx, args) {
    const all = flag(args, "all");
    const filters = parseFilterFlags(listValue(args, "filter"), "store image prune");
    if (!flag(args, "force")) {
      const warning = all
        ? "WARNING! This will remove all images without at least one container associated to them."
        : "WARNING! This will remove all dangling images.";
      if (!(await confirm(ctx.io, `${warning}\nAre you sure you want to continue?`, "-f"))) return 0;
    }
    const store = await ctx.store();
    const report = await store.prune({ all, filters });
    let output = "";
    if (report.ImagesDeleted.length > 0) {
      output = "Deleted Images:\n";
      for (const d of report.ImagesDeleted) output += "Untagged" in d ? `untagged: ${d.Untagged}\n` : `deleted: ${d.Deleted}\n`;
      output += "\n";
    }
    await write(ctx.io.stdout, `${output}Total reclaimed space: ${humanSize(report.SpaceReclaimed, 4)}\n`);
  },
};
