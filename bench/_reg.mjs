import { createReadStream } from "node:fs";
import { openStores } from "./archive-support.mjs";
const root = process.argv[2];
const stores = await openStores(root);
const m = JSON.parse((await import("node:fs")).readFileSync("/var/tmp/exp/x/manifest.json", "utf8"))[0];
const t = process.hrtime.bigint();
let top;
for (const l of m.Layers) {
  const t1 = process.hrtime.bigint();
  top = await stores.layers.register(createReadStream("/var/tmp/exp/x/" + l, { highWaterMark: 1 << 20 }), top?.chainId);
  console.log(" layer", Number(process.hrtime.bigint() - t1) / 1e6, "ms");
}
console.log("register x5", Number(process.hrtime.bigint() - t) / 1e9);
