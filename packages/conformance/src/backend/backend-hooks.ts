import type { StoreBackend } from "@store/backend";
import type { SuiteFixtureHooks } from "../conformance-case";
import type { BackendFactory, BackendFixture } from "./backend-fixture";

/**
 * Fixture hooks over a backend factory: after each case, every backend the case opened (the
 * first and any reopened) is closed, then the location is cleaned up.
 */
export function backendHooks(factory: BackendFactory): SuiteFixtureHooks<BackendFixture> {
  const opened = new WeakMap<BackendFixture, StoreBackend[]>();
  return {
    async create() {
      const original = await factory();
      const backends = [original.backend];
      const fixture: BackendFixture = { ...original };
      if (original.reopen) {
        const reopen = original.reopen;
        fixture.reopen = async () => {
          const backend = await reopen();
          backends.push(backend);
          return backend;
        };
      }
      opened.set(fixture, backends);
      return fixture;
    },
    async dispose(fixture) {
      try {
        for (const backend of opened.get(fixture) ?? [fixture.backend]) {
          await backend.close().catch(() => undefined);
        }
      } finally {
        await fixture.cleanup?.();
      }
    },
  };
}
