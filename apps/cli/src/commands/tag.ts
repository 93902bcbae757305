import type { Command } from "../command";

/** `store tag`: points a name at an image, moving it if it pointed elsewhere (as docker tag). */
export const tagCommand: Command = {
  name: "tag",
  aliases: ["store image tag", "store tag"],
  usage: "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
  summary: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
  args: { min: 2, max: 2 },
  options: [],
  async run(ctx, args) {
    const store = await ctx.store();
    await store.tag(args.positionals[0]!, args.positionals[1]!);
  },
};
