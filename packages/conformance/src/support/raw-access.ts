import type { BackendDriver } from "@store/backend";
import type { Digest } from "@store/digest";
import type { BackendFixture } from "../backend/backend-fixture";

/** `unsupported` for cases that need the fixture's raw driver. */
export function needsDriver(fixture: BackendFixture): string | undefined {
  return fixture.driver ? undefined : "the factory gives no raw driver (fixture.driver) to tamper with what is stored";
}

// dockerd's imagedb layout, spelled out here rather than taken from @store/backend: the suite
// checks from outside that a backend lays content out where dockerd looks for it.

/** The key of content `id`. */
export function contentPath(id: Digest): string {
  return `content/${id.algorithm}/${id.encoded}`;
}

/** The directory of content `id`'s metadata. */
export function metadataDir(id: Digest): string {
  return `metadata/${id.algorithm}/${id.encoded}`;
}

/** The driver's names under `prefix`, checking that its listAll (when it has one) gives the same. */
export async function namesUnder(driver: BackendDriver, prefix: string): Promise<string[]> {
  const names: string[] = [];
  for await (const name of driver.list(prefix)) names.push(name);
  if (driver.listAll) {
    const all = [...(await driver.listAll(prefix))].sort();
    if (all.join("\n") !== [...names].sort().join("\n")) throw new Error(`listAll(${prefix}) and list(${prefix}) disagree`);
  }
  return names;
}
