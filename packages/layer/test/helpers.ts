import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type EntrySpec, entryHeader } from "@store/test-peers";
import { writeTar } from "@store/tar-split";
import { createOverlay2Driver } from "@store/graphdriver-overlay2";
import { createLayerStore, type LayerStore } from "../src/index";

/** A tar's bytes from hand-written entries, through our tar writer. */
export async function tarBytes(specs: EntrySpec[]): Promise<Buffer> {
  const out: Uint8Array[] = [];
  const entries = (async function* () {
    for (const spec of specs) {
      const content = typeof spec.content === "string" ? Buffer.from(spec.content) : spec.content;
      yield { header: entryHeader(spec), body: content };
    }
  })();
  for await (const c of writeTar(entries)) out.push(c);
  return Buffer.concat(out);
}

export async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const out: Uint8Array[] = [];
  for await (const c of source) out.push(c);
  return Buffer.concat(out);
}

/** A fresh dockerd-style root with an overlay2 layer store; `reopen` makes a second store on it. */
export async function tempStore(): Promise<{ root: string; store: LayerStore; reopen(): Promise<LayerStore>; cleanup(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), "layer-store-"));
  const open = async () => createLayerStore({ root, driver: await createOverlay2Driver({ home: join(root, "overlay2") }) });
  const stores: LayerStore[] = [];
  const store = await open();
  stores.push(store);
  return {
    root,
    store,
    async reopen() {
      const s = await open();
      stores.push(s);
      return s;
    },
    async cleanup() {
      for (const s of stores) {
        await s.close().catch(() => undefined);
        await s.driver.cleanup().catch(() => undefined); // the test owns the root: unmount all
      }
      await rm(root, { recursive: true, force: true });
    },
  };
}
