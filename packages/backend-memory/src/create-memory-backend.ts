import { type StoreBackend, createBackend } from "@store/backend";
import { type FsApi, FsDriver } from "@store/backend-fs";
import { Volume } from "memfs";

/**
 * The driver behind {@link createMemoryBackend}, on a fresh memfs volume: for tests that need
 * raw access beside the backend (to tamper with content, or to plant strays), as
 * `createBackend(driver)` and the driver itself.
 */
export function createMemoryDriver(): FsDriver {
  // memfs's FileHandle has sync() at run time; its type declarations omit it.
  const volume = new Volume();
  const fs = { ...(volume.promises as unknown as FsApi), readFileSync: (path: string) => volume.readFileSync(path) as Uint8Array };
  // memfs links as a disk does (EEXIST when the name is taken), so create-only writes are the
  // volume's own check, as on disk.
  return new FsDriver({ root: "/imagedb", fs, name: "memory", capabilities: { persistent: false, conditionalCreate: true } });
}

/**
 * A StoreBackend held in memory, gone when the process exits: the fs driver itself over a
 * fresh memfs volume, so memory and disk share one code path (atomic renames and links, temp
 * files, listing) and a bug found in one is found in both.
 */
export function createMemoryBackend(): StoreBackend {
  return createBackend(createMemoryDriver());
}
