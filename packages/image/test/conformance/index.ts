import { chainSuite } from "./chain-suite";
import { restoreSuite } from "./restore-suite";
import type { ImageConformanceFactory } from "./subject";
import { walkSuite } from "./walk-suite";

export { FakeLayerStore } from "./fake-layer-store";
export type { ImageConformanceFactory, ImageConformanceSubject } from "./subject";
export { chainSuite, restoreSuite, walkSuite };

/**
 * The image-store suites (restore, chain, walk) on one backend, in one line:
 * `imageConformance("fs", async () => ({ backend, reopen, cleanup }))`.
 */
export function imageConformance(name: string, factory: ImageConformanceFactory): void {
  restoreSuite(name, factory);
  chainSuite(name, factory);
  walkSuite(name, factory);
}
