import { registerSuite } from "@store/conformance";
import { imageCases } from "./image-cases";
import type { ImageFactory, ImageSuiteOptions } from "./image-fixture";
import { imageHooks } from "./image-hooks";

/**
 * Registers the image suites (restore, chain, walk) with vitest: every case opens
 * `@store/image`'s image store over a fresh backend from `factory`, with a fake layer store
 * unless `options.layers` gives another (a real one through {@link layerStoreSide}).
 *
 * ```ts
 * imageConformance("fs", async () => ({ backend: createFsBackend({ root }), reopen: async () => createFsBackend({ root }) }));
 * ```
 */
export function imageConformance(name: string, factory: ImageFactory, options: ImageSuiteOptions = {}): void {
  registerSuite(`${name} image conformance`, imageCases, imageHooks(factory, options.layers), options);
}
