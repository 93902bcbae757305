import type { Digest } from "./digest";
import { digestFromString } from "./digest-content";

/**
 * The chain ID of a stack of layers by the OCI identity rule: none for no layers, the diffID for
 * one, else `sha256(chain(n-1) + " " + diffID(n))` folded from the bottom.
 */
export function chainId(diffIds: readonly Digest[]): Digest | undefined {
  let chain: Digest | undefined;
  for (const diffId of diffIds) {
    chain = chain === undefined ? diffId : digestFromString(`${chain} ${diffId}`);
  }
  return chain;
}

/** The chain ID of every prefix of the stack: `result[i]` names layers 0..i. */
export function chainIds(diffIds: readonly Digest[]): Digest[] {
  const out: Digest[] = [];
  for (const diffId of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? diffId : digestFromString(`${prev} ${diffId}`));
  }
  return out;
}
