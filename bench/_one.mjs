import { createReadStream } from "node:fs";
import { openStores } from "./archive-support.mjs";
const stores = await openStores(process.argv[2]);
for (const f of process.argv.slice(3)) {
  const t1 = process.hrtime.bigint();
  await stores.layers.register(createReadStream(f, { highWaterMark: 1 << 20 }));
  console.log(f, Number(process.hrtime.bigint() - t1) / 1e6, "ms");
}
