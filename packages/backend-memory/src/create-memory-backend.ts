import { type StoreBackend, createBackend } from "@store/backend";
import { type FsApi, FsDriver } from "@store/backend-fs";
import { Volume } from "memfs";

/**
 * A StoreBackend held in memory, gone when the process exits: the fs driver itself over a
 * fresh memfs volume, so memory and disk share one code path (atomic renames, temp files,
 * listing) and a bug found in one is found in both.
 */
export function createMemoryBackend(): StoreBackend {
  // memfs's FileHandle has sync() at run time; its type declarations omit it.
  const volume = new Volume();
  const fs = { ...(volume.promises as unknown as FsApi), readFileSync: (path: string) => volume.readFileSync(path) as Uint8Array };
  return createBackend(new FsDriver({ root: "/imagedb", fs, name: "memory", capabilities: { persistent: false } }));
}
