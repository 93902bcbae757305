import type { CaseResult, ConformanceCase, SuiteFixtureHooks } from "./conformance-case";

/**
 * Runs one case on a fresh fixture and disposes of it. Throws what the case threw; returns the
 * reason when the fixture does not support the case.
 */
export async function runCase<F, O>(testCase: ConformanceCase<F, O>, hooks: SuiteFixtureHooks<F>, options: O): Promise<string | undefined> {
  const fixture = await hooks.create();
  try {
    const reason = testCase.unsupported?.(fixture);
    if (reason !== undefined) return reason;
    await testCase.run(fixture, options);
    return undefined;
  } finally {
    await hooks.dispose(fixture);
  }
}

/**
 * Runs cases one after another outside of vitest's registration and reports each outcome
 * instead of throwing: how a test proves that a deliberately broken implementation fails them.
 */
export async function runCases<F, O>(cases: readonly ConformanceCase<F, O>[], hooks: SuiteFixtureHooks<F>, options: O): Promise<CaseResult<F, O>[]> {
  const results: CaseResult<F, O>[] = [];
  for (const testCase of cases) {
    try {
      const reason = await runCase(testCase, hooks, options);
      results.push(reason === undefined ? { case: testCase, status: "passed" } : { case: testCase, status: "skipped", reason });
    } catch (error) {
      results.push({ case: testCase, status: "failed", error });
    }
  }
  return results;
}
