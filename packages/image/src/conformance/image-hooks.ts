import type { StoreBackend } from "@store/backend";
import type { SuiteFixtureHooks } from "@store/conformance";
import { fakeLayerSide } from "./fake-layer-side";
import type { ImageFactory, ImageFixture } from "./image-fixture";
import type { LayerSideFactory } from "./layer-side";

/**
 * Fixture hooks for the image suites: a fresh backend and layer side per case; afterwards every
 * backend the case opened is closed, the layer side disposed of, the location cleaned up.
 */
export function imageHooks(factory: ImageFactory, layerSide: LayerSideFactory = fakeLayerSide): SuiteFixtureHooks<ImageFixture> {
  const opened = new WeakMap<ImageFixture, StoreBackend[]>();
  return {
    async create() {
      const original = await factory();
      const layers = await layerSide();
      const backends = [original.backend];
      const fixture: ImageFixture = {
        ...original,
        layers,
        reopen: async () => {
          const backend = await original.reopen();
          backends.push(backend);
          return backend;
        },
      };
      opened.set(fixture, backends);
      return fixture;
    },
    async dispose(fixture) {
      try {
        for (const backend of new Set(opened.get(fixture) ?? [fixture.backend])) await backend.close().catch(() => undefined);
        await fixture.layers.dispose();
      } finally {
        await fixture.cleanup?.();
      }
    },
  };
}
