// The test peers (test-fixtures/peers: Ceph RGW, s3rver, fault proxy…) for benchmark scripts,
// which node runs without a TypeScript loader: bundled once with esbuild into bench/.data/ (inside
// the repo, so their packages resolve from its node_modules) and imported from there.
import { mkdirSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

/** The `@store/test-peers` module. */
export async function loadPeers() {
  const out = fileURLToPath(new URL("./.data/test-peers.mjs", import.meta.url));
  mkdirSync(fileURLToPath(new URL("./.data/", import.meta.url)), { recursive: true });
  await build({
    entryPoints: [fileURLToPath(new URL("../test-fixtures/peers/src/index.ts", import.meta.url))],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    outfile: out,
    logLevel: "error",
  });
  return import(pathToFileURL(out).href);
}
