import type { Command } from "../command";
import { writeLines } from "../cli-io";

/** `store unmount NAME`: unmounts a `store mount` and removes its read-write layer and changes. */
export const unmountCommand: Command = {
  name: "unmount",
  usage: "NAME|DIR [NAME|DIR...]",
  summary: "Unmount a writable layer made by mount and remove it",
  args: { min: 1 },
  options: [],
  async run(ctx, args) {
    const store = await ctx.store();
    for (const term of args.positionals) {
      const { name } = await store.unmount(term);
      await writeLines(ctx.io.stdout, [name]);
    }
  },
};
