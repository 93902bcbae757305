import { join } from "node:path";
import { LayerError, LayerErrorCode } from "@store/layer";
import type { Command } from "../command";
import { CliError, CliErrorCode } from "../errors";
import { writeLines } from "../cli-io";
import type { StoreContext } from "../store-context";

/** The mount a name, a unique prefix of one, or its merged directory names. */
function findMount(store: StoreContext, term: string): string {
  const exact = store.mounts.find((m) => m.name === term || join(store.options.root, store.options.driver, m.mountId, "merged") === term.replace(/\/+$/, ""));
  if (exact) return exact.name;
  const prefixed = store.mounts.filter((m) => m.name.startsWith(term));
  if (prefixed.length === 1) return prefixed[0]!.name;
  if (prefixed.length > 1) throw new CliError(CliErrorCode.MountAmbiguous, `mount name prefix ${JSON.stringify(term)} is ambiguous: ${prefixed.map((m) => m.name).join(", ")}`);
  throw new LayerError(LayerErrorCode.MountNotFound, `No such mount: ${term}`, { details: { name: term } });
}

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
      const name = findMount(store, term);
      const rw = await store.layers.getRWLayer(name);
      await rw.unmount();
      await store.layers.releaseRWLayer(rw);
      await writeLines(ctx.io.stdout, [name]);
    }
  },
};
