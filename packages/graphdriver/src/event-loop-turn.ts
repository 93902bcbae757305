import { performance } from "node:perf_hooks";
import { setImmediate as nextTurn } from "node:timers/promises";

/**
 * How long a loop over in-memory work may run before it lets the event loop take a turn. A
 * daemon's timers and requests wait at most about this long (plus one step of the loop), and
 * yielding costs one `setImmediate` (~microseconds) per few milliseconds of work.
 */
export const TURN_BUDGET_MS = 2;

/**
 * Returns a function to call between steps of a long loop: it resolves at once while the loop
 * has run for less than `budgetMs` since the last turn, and otherwise after the event loop ran
 * timers and I/O callbacks once.
 *
 * Why: an `await` on a promise that is already settled (a parsed tar entry, a buffered chunk,
 * a synchronous file call) resumes as a microtask, and microtasks run before any timer or I/O
 * callback. A loop over 13,000 entries of one buffered megabyte therefore never lets the
 * event loop in, however many `await`s it has; only a macrotask boundary does.
 */
export function eventLoopTurns(budgetMs: number = TURN_BUDGET_MS): () => Promise<void> {
  let since = performance.now();
  return async () => {
    const now = performance.now();
    if (now - since < budgetMs) return;
    await nextTurn();
    since = performance.now();
  };
}
