import { parsePlatform } from "@store/registry";
import { allTagsReference, pullReference } from "@store/service";
import { type Command, flag, stringValue } from "../command";
import { writeLines } from "../cli-io";
import { createProgressDisplay } from "../format/progress-display";

/** `store pull`: an image from a registry into the store, with docker's progress and last lines. */
export const pullCommand: Command = {
  name: "pull",
  aliases: ["store image pull", "store pull"],
  usage: "[OPTIONS] NAME[:TAG|@DIGEST]",
  summary: "Download an image from a registry",
  args: { min: 1, max: 1 },
  options: [
    { name: "all-tags", short: "a", type: "boolean", help: "Download all tagged images in the repository" },
    { name: "platform", type: "string", placeholder: "string", help: "Set platform if server is multi-platform capable" },
    { name: "quiet", short: "q", type: "boolean", help: "Suppress verbose output" },
  ],
  async run(ctx, args) {
    const name = args.positionals[0]!;
    const quiet = flag(args, "quiet");
    const allTags = flag(args, "all-tags");
    const platformText = stringValue(args, "platform");
    // Checked before the store is opened: a bad name or platform is the user's typo, not the store's business.
    const ref = allTags ? allTagsReference(name) : pullReference(name);
    // docker treats an empty --platform as not given.
    const platform = platformText ? parsePlatform(platformText) : undefined;
    const store = await ctx.store();
    if (!quiet && !allTags && ref.tag !== undefined && !ref.isCanonical && !/:[^/]*$/.test(name.split("@")[0]!)) {
      await writeLines(ctx.io.stdout, [`Using default tag: ${ref.tag}`]);
    }
    const progress = quiet ? undefined : createProgressDisplay(ctx.io.stdout);
    try {
      await store.pull(name, {
        ...(progress ? { onProgress: progress.onProgress } : {}),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        ...(platform ? { platform } : {}),
        ...(allTags ? { allTags } : {}),
      });
    } finally {
      progress?.done();
    }
    // The progress ended with docker's "Digest:" and "Status:" lines; the CLI adds the full
    // name, the one line `-q` keeps (scripts read it).
    await writeLines(ctx.io.stdout, [ref.toString()]);
  },
};
