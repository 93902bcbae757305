import { isStoreError } from "@store/errors";
import { expect } from "vitest";

/**
 * Awaits `action` and asserts it failed with a StoreError of `code` whose message names each of
 * `mentions` (the digest or key concerned). Returns the error for further checks.
 */
export async function expectStoreError(action: Promise<unknown> | (() => Promise<unknown>), code: string, mentions: readonly string[] = []): Promise<Error> {
  let error: unknown;
  try {
    await (typeof action === "function" ? action() : action);
  } catch (e) {
    error = e;
  }
  expect(error, `expected a StoreError ${code}, but it succeeded`).toBeDefined();
  if (!isStoreError(error, code)) {
    expect.fail(`expected a StoreError ${code}, got ${describe(error)}`);
  }
  for (const mention of mentions) expect(error.message).toContain(mention);
  return error;
}

function describe(error: unknown): string {
  if (isStoreError(error)) return `${error.code}: ${error.message}`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
