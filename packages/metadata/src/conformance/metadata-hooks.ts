import type { MetadataStore } from "../index";
import type { SuiteFixtureHooks } from "@store/conformance";
import type { MetadataFactory, MetadataFixture } from "./metadata-fixture";

/**
 * Fixture hooks over a metadata factory: after each case, every store the case opened (the first
 * and any reopened) is closed, then the location is cleaned up.
 */
export function metadataHooks(factory: MetadataFactory): SuiteFixtureHooks<MetadataFixture> {
  const opened = new WeakMap<MetadataFixture, MetadataStore[]>();
  return {
    async create() {
      const original = await factory();
      const stores = [original.store];
      const fixture: MetadataFixture = { ...original };
      if (original.reopen) {
        const reopen = original.reopen;
        fixture.reopen = async () => {
          const store = await reopen();
          stores.push(store);
          return store;
        };
      }
      opened.set(fixture, stores);
      return fixture;
    },
    async dispose(fixture) {
      try {
        for (const store of opened.get(fixture) ?? [fixture.store]) await store.close().catch(() => undefined);
      } finally {
        await fixture.cleanup?.();
      }
    },
  };
}
