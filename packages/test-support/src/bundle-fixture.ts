import { build } from "esbuild";

/**
 * Bundles the TypeScript fixture `entry` (and the @store sources it imports, through their
 * `source` export condition) into one ESM script at `outfile`, for a child process: Node 20
 * cannot run TypeScript, and a test that kills or races other processes needs real ones.
 */
export async function bundleFixture(entry: URL, outfile: string, options: { external?: string[] } = {}): Promise<string> {
  await build({
    entryPoints: [entry.pathname],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    conditions: ["source"],
    // Native addons (koffi, which overlay2 calls libc through) cannot be bundled: list them
    // here and put `outfile` where Node resolves them from the repo's node_modules.
    ...(options.external ? { external: options.external } : {}),
    logLevel: "silent",
  });
  return outfile;
}
