import { createReadStream } from "node:fs";
import { loadArchive } from "@store/archive";
import { openStores } from "./archive-support.mjs";
const root = process.argv[2];
const stores = await openStores(root);
const t = process.hrtime.bigint();
await loadArchive(createReadStream("/var/tmp/exp/bench.tar", { highWaterMark: 1 << 20 }), stores);
console.log("load", Number(process.hrtime.bigint() - t) / 1e9);
await stores.close();
