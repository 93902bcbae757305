/**
 * One check of a conformance suite, as data: suites register these as vitest tests, and
 * {@link runCases} runs them directly (to prove a broken implementation fails them).
 *
 * `F` is what a fresh test gets from the factory (a backend, later an image store…).
 */
export interface ConformanceCase<F, O = object> {
  /** The concern it belongs to (one file per concern): "walk", "metadata"… */
  readonly concern: string;
  /** What it checks, as a sentence: the vitest test name. */
  readonly name: string;
  /** Why this fixture does not support what the case checks (from its declared capabilities), or undefined. */
  unsupported?(fixture: F): string | undefined;
  run(fixture: F, options: O): Promise<void>;
  /** Milliseconds, for cases that move a lot of bytes. */
  readonly timeout?: number;
}

/** What a suite needs to run its cases against one implementation. */
export interface SuiteFixtureHooks<F> {
  /** A fresh, isolated fixture per test (containerd's testsuite: a new temp root every time). */
  create(): Promise<F>;
  /** Releases everything the fixture holds; called after every case, passed or failed. */
  dispose(fixture: F): Promise<void>;
}

export type CaseStatus = "passed" | "failed" | "skipped";

export interface CaseResult<F, O = object> {
  readonly case: ConformanceCase<F, O>;
  readonly status: CaseStatus;
  /** The assertion or error that failed the case. */
  readonly error?: unknown;
  /** Why it was skipped. */
  readonly reason?: string;
}
