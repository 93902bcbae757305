import { registerSuite } from "../register-suite";
import { type BackendFactory, type BackendSuiteOptions, defaultBackendSuiteOptions } from "./backend-fixture";
import { backendCases } from "./backend-cases";
import { backendHooks } from "./backend-hooks";

/**
 * Registers the StoreBackend conformance suite with vitest: one `describe` per concern, every
 * test on a fresh backend from `factory`. Cases a backend's capabilities rule out are skipped.
 *
 * ```ts
 * backendConformance("fs", async () => ({ backend: createFsBackend({ root: await tmp() }) }));
 * ```
 */
export function backendConformance(name: string, factory: BackendFactory, options: Partial<BackendSuiteOptions> = {}): void {
  registerSuite(`${name} StoreBackend conformance`, backendCases, backendHooks(factory), { ...defaultBackendSuiteOptions, ...options });
}
