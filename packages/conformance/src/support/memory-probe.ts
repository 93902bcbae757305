import { memoryUsage } from "node:process";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let collector: (() => void) | undefined | null = null;

/**
 * A full garbage collection, when the runtime lets us have one: without it, garbage chunks
 * would be counted as held. Tests started without `--expose-gc` get it through V8's flags.
 */
function gc(): (() => void) | undefined {
  if (collector !== null) return collector;
  const global = globalThis as { gc?: () => void };
  if (typeof global.gc === "function") {
    collector = global.gc;
  } else {
    try {
      setFlagsFromString("--expose-gc");
      collector = runInNewContext("gc") as () => void;
    } catch {
      collector = undefined;
    }
  }
  return collector;
}

/** Live memory: the JS heap plus array buffers (where Buffers and Uint8Arrays keep their bytes). */
function live(): number {
  const usage = memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/**
 * Measures the live memory an operation holds while it runs: `sample()` (awaited from inside the
 * operation, e.g. between chunks) collects garbage and records how far live memory rose above
 * where it started. `available` is false when the runtime offered no way to collect garbage;
 * the figures then mean nothing.
 */
export class MemoryProbe {
  readonly available: boolean;
  readonly #gc: (() => void) | undefined;
  #baseline = 0;
  #peak = 0;

  constructor() {
    this.#gc = gc();
    this.available = this.#gc !== undefined;
  }

  /** Starts (or restarts) measuring from the current live memory. */
  async start(): Promise<void> {
    this.#baseline = 0;
    this.#baseline = await this.retained();
    this.#peak = 0;
  }

  /** Records the growth now, once garbage is collected (see {@link retained}). */
  async sample(): Promise<void> {
    if (!this.#gc) return;
    this.#peak = Math.max(this.#peak, await this.retained());
  }

  /** The highest growth sampled since start(). */
  get peak(): number {
    return this.#peak;
  }

  /**
   * The growth now, once garbage is collected: what the operation left held (stored content,
   * say). V8 frees array buffers on a background sweeper after a collection, so this collects
   * again after a pause, until the figure settles.
   */
  async retained(): Promise<number> {
    let previous = Number.POSITIVE_INFINITY;
    for (let round = 0; round < 10; round++) {
      this.#gc?.();
      const now = live() - this.#baseline;
      if (Math.abs(previous - now) < 1 << 20) return now;
      previous = now;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return previous;
  }
}
