import { describe, test } from "vitest";
import type { ConformanceCase, SuiteFixtureHooks } from "./conformance-case";
import { runCase } from "./run-cases";

/**
 * Registers `cases` as vitest tests under `title`, one `describe` per concern, each test on a
 * fresh fixture; a case the fixture does not support is reported as skipped, with the reason.
 * Every suite of this package (backends now; image restore and chains later) is registered
 * through here.
 */
export function registerSuite<F, O>(title: string, cases: readonly ConformanceCase<F, O>[], hooks: SuiteFixtureHooks<F>, options: O): void {
  const concerns = [...new Set(cases.map((c) => c.concern))];
  describe(title, () => {
    for (const concern of concerns) {
      describe(concern, () => {
        for (const testCase of cases.filter((c) => c.concern === concern)) {
          test(
            testCase.name,
            async (context) => {
              const reason = await runCase(testCase, hooks, options);
              if (reason !== undefined) context.skip(reason);
            },
            testCase.timeout ?? 30_000,
          );
        }
      });
    }
  });
}
