import type { Command } from "../command";
import { flag, stringValue } from "../command";
import { writeLines } from "../cli-io";
import { parseDurationFlag } from "../duration-flag";
import { progressRenderer } from "../format/progress";
import { humanSize } from "../format/units";
import { terminalSafe } from "../terminal-safe";
import { UsageError } from "../usage-error";

const kindName = {
  "driver-dir": "overlay2 dir",
  distribution: "distribution record",
  "partial-download": "partial download",
  temp: "unfinished write",
} as const;

/**
 * `store verify`: re-hashes every image config and rebuilds every layer's tar from tar-split and
 * the driver's files, checking it against the diffID; checks distribution metadata and every
 * overlay2 dir for an owner. Each corruption is reported with the images it concerns; any makes
 * the exit code 1. What nothing references is listed as reclaimable (exit 0), and `--repair`
 * removes it once older than `--repair-grace`.
 */
export const verifyCommand: Command = {
  name: "verify",
  readOnly: true,
  usage: "[OPTIONS]",
  summary: "Check every image config and layer against its digest",
  args: { min: 0, max: 0 },
  options: [
    {
      name: "repair",
      type: "boolean",
      help: "Remove what nothing references (leftover overlay2 dirs, dangling distribution records, stale partial downloads)",
    },
    { name: "repair-grace", type: "string", placeholder: "duration", help: "Only remove what has not changed for this long", defaultText: "1h" },
  ],
  async run(ctx, args) {
    const repair = flag(args, "repair");
    const graceText = stringValue(args, "repair-grace");
    if (graceText !== undefined && !repair) throw new UsageError("--repair-grace needs --repair", "store verify");
    const graceMs = graceText === undefined ? undefined : parseDurationFlag(graceText, "repair-grace", "store verify");
    const store = await ctx.store();
    const progress = progressRenderer(ctx.io.stderr as NodeJS.WriteStream);
    let report;
    try {
      report = await store.verify({ ...(progress.onProgress ? { onProgress: progress.onProgress } : {}), ...(ctx.signal ? { signal: ctx.signal } : {}) });
    } finally {
      progress.done();
    }
    const { problems, reclaimable } = report;
    const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
    const summary = `${count(report.configs, "image config", "image configs")}, ${count(report.layers, "layer", "layers")} checked`;
    // Damage first, then what nothing references (or what the repair did with it), then the summary.
    const tail: string[] = [];
    let left = problems;
    if (repair) {
      const repaired = await store.repair({ ...(graceMs !== undefined ? { graceMs } : {}), ...(ctx.signal ? { signal: ctx.signal } : {}) });
      // A damaged record the repair removed is no longer damage in the store.
      const removed = new Set(repaired.removed.filter((l) => l.kind === "distribution").map((l) => l.name));
      left = problems.filter((p) => !(p.what === "distribution" && p.id !== undefined && removed.has(p.id)));
      for (const l of repaired.removed) tail.push(`removed: ${kindName[l.kind]} ${terminalSafe(l.name)} (${humanSize(l.bytes)})`);
      for (const l of repaired.kept)
        tail.push(`kept: ${kindName[l.kind]} ${terminalSafe(l.name)} (${humanSize(l.bytes)}): ${l.keep ?? "changed less than the grace period ago"}`);
      tail.push(`${count(repaired.removed.length, "leftover", "leftovers")} removed, ${humanSize(repaired.bytes)} freed`);
    } else if (reclaimable.length > 0) {
      for (const l of reclaimable)
        tail.push(
          `reclaimable: ${kindName[l.kind]} ${terminalSafe(l.name)} (${humanSize(l.bytes)}): ${terminalSafe(l.why)}${l.keep ? `; --repair keeps it: ${l.keep}` : ""}`,
        );
      const bytes = reclaimable.reduce((n, l) => n + l.bytes, 0);
      tail.push(
        `${count(reclaimable.length, "leftover", "leftovers")} reclaimable (${humanSize(bytes)}): store verify --repair removes ${reclaimable.length === 1 ? "it" : "them"}`,
      );
    }
    await writeLines(ctx.io.stdout, [
      ...problems.map((p) => `corrupt: ${p.message}${left.includes(p) ? "" : " (removed)"}`),
      ...tail,
      left.length === 0 ? `${summary}: all verified` : `${summary}: ${left.length} problem${left.length === 1 ? "" : "s"}`,
    ]);
    return left.length === 0 ? 0 : 1;
  },
};
