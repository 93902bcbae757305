import type { Digest } from "@store/digest";
import type { Layer } from "@store/layer";
import type { Command } from "../command";
import { writeLines } from "../cli-io";
import { createProgress } from "../format/progress";
import type { StoreContext } from "../store-context";
import { truncateId } from "@store/image";

/** How an image is named in reports: its tags, else its short ID. */
function imageName(store: StoreContext, id: Digest): string {
  const tags = store.references.references(id).map((r) => r.familiar);
  return tags.length > 0 ? `${tags.join(", ")} (${truncateId(id.toString())})` : truncateId(id.toString());
}

/**
 * `store verify`: re-hashes every image config and rebuilds every layer's tar from tar-split and
 * the driver's files, checking it against the diffID. Each corruption is reported with the
 * images it concerns; any makes the exit code 1.
 */
export const verifyCommand: Command = {
  name: "verify",
  readOnly: true,
  usage: "[OPTIONS]",
  summary: "Check every image config and layer against its digest",
  args: { min: 0, max: 0 },
  options: [],
  async run(ctx, _args) {
    const store = await ctx.store();
    const problems: string[] = [];

    // Configs: walk the backend itself, since the image store skipped unreadable ones at open.
    let configs = 0;
    await store.backend.walk(async (id) => {
      configs++;
      try {
        await store.backend.get(id);
      } catch (e) {
        problems.push(`image ${imageName(store, id)}: config ${id}: ${(e as Error).message}`);
      }
    });
    for (const p of store.images.problems) {
      if (!problems.some((q) => q.includes(p.message))) problems.push(`image store: ${p.message}`);
    }
    for (const p of store.layers.problems) problems.push(`layer ${p.chainId ?? p.mount ?? "?"}: ${p.message}`);

    // Which images stand on each layer, to say what a bad layer breaks.
    const users = new Map<string, Digest[]>();
    for (const r of store.images.records()) {
      for (let l: Layer | undefined = r.layer; l; l = l.parent) users.set(l.chainId.toString(), [...(users.get(l.chainId.toString()) ?? []), r.id]);
    }
    const layers = [...store.layers.map().values()];
    const total = layers.reduce((n, l) => n + l.diffSize, 0);
    const progress = createProgress("Verifying", total, ctx.io.stderr as NodeJS.WriteStream);
    try {
      for (const layer of layers) {
        const label = truncateId(layer.chainId.toString());
        try {
          for await (const chunk of layer.tarStream()) progress.tick(chunk.byteLength, label);
        } catch (e) {
          const used = users.get(layer.chainId.toString()) ?? [];
          const by = used.length > 0 ? `used by ${used.map((id) => imageName(store, id)).join("; ")}` : "used by no image";
          problems.push(`layer ${layer.chainId} (diff ${layer.diffId}, ${by}): ${(e as Error).message}`);
        }
      }
    } finally {
      progress.done();
    }
    const summary = `${configs} image configs, ${layers.length} layers checked`;
    if (problems.length === 0) {
      await writeLines(ctx.io.stdout, [`${summary}: all verified`]);
      return 0;
    }
    await writeLines(ctx.io.stdout, [...problems.map((p) => `corrupt: ${p}`), `${summary}: ${problems.length} problem${problems.length === 1 ? "" : "s"}`]);
    return 1;
  },
};
