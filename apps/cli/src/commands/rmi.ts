import { type Command, flag } from "../command";
import { write, writeLines } from "../cli-io";

/** `store rmi`: untags and deletes images with dockerd's rules, printing Untagged:/Deleted: lines. */
export const rmiCommand: Command = {
  name: "rmi",
  aliases: ["store image rm", "store image remove", "store rmi"],
  usage: "[OPTIONS] IMAGE [IMAGE...]",
  summary: "Remove one or more images",
  args: { min: 1 },
  options: [
    { name: "force", short: "f", type: "boolean", help: "Force removal of the image" },
    { name: "no-prune", type: "boolean", help: "Do not delete untagged parents" },
  ],
  async run(ctx, args) {
    const store = await ctx.store();
    let failed = false;
    // Like docker: every image is tried; failures are reported and make the exit code non-zero.
    for (const name of args.positionals) {
      try {
        const deleted = await store.remove(name, { force: flag(args, "force"), prune: !flag(args, "no-prune") });
        await writeLines(
          ctx.io.stdout,
          deleted.map((d) => ("Untagged" in d ? `Untagged: ${d.Untagged}` : `Deleted: ${d.Deleted}`)),
        );
      } catch (e) {
        failed = true;
        await write(ctx.io.stderr, `store: ${(e as Error).message}\n`);
      }
    }
    return failed ? 1 : 0;
  },
};
