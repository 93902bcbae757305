#!/usr/bin/env node
// The quickstart's main job until the CLI lands: digest a sample and show a chain ID.
import { chainId, digestFromBytes, parseDigest } from "@store/digest";

const empty = digestFromBytes(new Uint8Array(1024));
console.log(`diffID of the empty layer: ${empty}`);
const base = parseDigest("sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae");
console.log(`chain ID of [base, empty]: ${chainId([base, empty])}`);
