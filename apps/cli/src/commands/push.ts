import { pushReference } from "@store/service";
import { type Command, flag } from "../command";
import { writeLines } from "../cli-io";
import { createProgressDisplay } from "../format/progress-display";

/** `store push`: an image to a registry, with docker's progress and its `TAG: digest: … size: …` line. */
export const pushCommand: Command = {
  name: "push",
  aliases: ["store image push", "store push"],
  usage: "[OPTIONS] NAME[:TAG]",
  summary: "Upload an image to a registry",
  args: { min: 1, max: 1 },
  options: [{ name: "quiet", short: "q", type: "boolean", help: "Suppress verbose output" }],
  async run(ctx, args) {
    const name = args.positionals[0]!;
    const quiet = flag(args, "quiet");
    const ref = pushReference(name);
    const store = await ctx.store();
    if (!quiet && !/:[^/]*$/.test(name)) await writeLines(ctx.io.stdout, [`Using default tag: ${ref.tag}`]);
    const progress = quiet ? undefined : createProgressDisplay(ctx.io.stdout);
    try {
      await store.push(name, {
        ...(progress ? { onProgress: progress.onProgress } : {}),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });
    } finally {
      progress?.done();
    }
    if (quiet) await writeLines(ctx.io.stdout, [ref.toString()]);
  },
};
