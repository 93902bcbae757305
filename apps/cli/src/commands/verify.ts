import type { Command } from "../command";
import { writeLines } from "../cli-io";
import { progressRenderer } from "../format/progress";

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
    const progress = progressRenderer(ctx.io.stderr as NodeJS.WriteStream);
    let report;
    try {
      report = await store.verify({ ...(progress.onProgress ? { onProgress: progress.onProgress } : {}), ...(ctx.signal ? { signal: ctx.signal } : {}) });
    } finally {
      progress.done();
    }
    const { problems } = report;
    const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
    const summary = `${count(report.configs, "image config", "image configs")}, ${count(report.layers, "layer", "layers")} checked`;
    if (problems.length === 0) {
      await writeLines(ctx.io.stdout, [`${summary}: all verified`]);
      return 0;
    }
    await writeLines(ctx.io.stdout, [
      ...problems.map((p) => `corrupt: ${p.message}`),
      `${summary}: ${problems.length} problem${problems.length === 1 ? "" : "s"}`,
    ]);
    return 1;
  },
};
