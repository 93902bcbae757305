import { registerSuite } from "@store/conformance";
import { metadataStoreCases } from "./metadata-cases";
import { type MetadataFactory, type MetadataSuiteOptions, defaultMetadataSuiteOptions } from "./metadata-fixture";
import { metadataHooks } from "./metadata-hooks";

/**
 * Registers the MetadataStore conformance suite with vitest: one `describe` per concern, every
 * test on a fresh store from `factory`. Compare-and-swap races are skipped where
 * `capabilities.conditional` is false, persistence where `persistent` is false or no `reopen`.
 *
 * ```ts
 * metadataConformance("fs", async () => {
 *   const root = await mkdtemp(join(tmpdir(), "md-"));
 *   const open = async () => createFsMetadataStore({ root });
 *   return { store: await open(), reopen: open, cleanup: () => rm(root, { recursive: true }) };
 * });
 * ```
 */
export function metadataConformance(name: string, factory: MetadataFactory, options: Partial<MetadataSuiteOptions> = {}): void {
  registerSuite(`${name} MetadataStore conformance`, metadataStoreCases, metadataHooks(factory), { ...defaultMetadataSuiteOptions, ...options });
}
