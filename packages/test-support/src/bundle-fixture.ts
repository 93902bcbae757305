import { build } from "esbuild";

/**
 * Bundles the TypeScript fixture `entry` (and the @store sources it imports, through their
 * `source` export condition) into one ESM script at `outfile`, for a child process: Node 20
 * cannot run TypeScript, and a test that kills or races other processes needs real ones.
 */
export async function bundleFixture(entry: URL, outfile: string): Promise<string> {
  await build({
    entryPoints: [entry.pathname],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    conditions: ["source"],
    logLevel: "silent",
  });
  return outfile;
}
