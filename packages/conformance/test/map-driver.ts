import type { BackendCapabilities, BackendDriver, ListOptions, StageHint, StagedWrite, WriteOptions } from "@store/backend";

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

export interface MapDriverFaults {
  /** Publish writes in steps, a growing prefix first: readers can see a partial object. */
  nonAtomicWrites?: boolean;
  /** readStream copies the whole object before yielding it. */
  wholeReads?: boolean;
  /** Create-only writes and commits replace what is there, and say they created. */
  ignoresIfAbsent?: boolean;
  /** Create-only looks, yields, then writes: racing creators may all say they created. */
  looksBeforeCreate?: boolean;
  /** A create-only commit over an existing object throws instead of reporting false. */
  failsWhenTaken?: boolean;
  /** stage() writes straight to the hinted key as chunks arrive, as a fused upload does. */
  publishesWhileStaging?: boolean;
}

/**
 * A whole driver in a Map (objects kept as their chunks): the smallest correct backend the suite
 * can prove itself on, and, with `faults`, broken ones it must catch.
 */
export class MapDriver implements BackendDriver {
  readonly name = "map";
  readonly capabilities: Partial<BackendCapabilities>;

  constructor(
    readonly objects = new Map<string, Uint8Array[]>(),
    readonly faults: MapDriverFaults = {},
    capabilities: Partial<BackendCapabilities> = { persistent: true, conditionalCreate: true },
  ) {
    this.capabilities = capabilities;
  }

  async read(key: string) {
    const chunks = this.objects.get(key);
    return chunks && new Uint8Array(Buffer.concat(chunks));
  }

  async readStream(key: string): Promise<AsyncIterable<Uint8Array> | undefined> {
    const chunks = this.objects.get(key);
    if (!chunks) return undefined;
    const served = this.faults.wholeReads ? [Buffer.concat(chunks)] : chunks;
    return (async function* () {
      yield* served;
    })();
  }

  async stat(key: string) {
    const chunks = this.objects.get(key);
    return chunks && { size: chunks.reduce((n, c) => n + c.byteLength, 0) };
  }

  async write(key: string, data: Uint8Array, options?: WriteOptions) {
    return this.#publish(key, [data.slice()], options);
  }

  async stage(source: AsyncIterable<Uint8Array>, hint?: StageHint): Promise<StagedWrite> {
    const chunks: Uint8Array[] = [];
    const early = this.faults.publishesWhileStaging ? hint?.key : undefined;
    for await (const chunk of source) {
      chunks.push(chunk);
      if (early !== undefined) this.objects.set(early, [...chunks]);
    }
    return {
      commit: (key, options) => this.#publish(key, chunks, options),
      abort: async () => {
        chunks.length = 0;
      },
    };
  }

  async #publish(key: string, chunks: Uint8Array[], options?: WriteOptions): Promise<boolean> {
    const { faults } = this;
    if (options?.ifAbsent && !faults.ignoresIfAbsent) {
      if (faults.looksBeforeCreate) {
        const taken = this.objects.has(key);
        await tick();
        if (taken) return false;
      } else if (this.objects.has(key)) {
        if (faults.failsWhenTaken) throw new Error(`${key}: exists`);
        return false;
      }
    }
    if (faults.nonAtomicWrites) {
      // As a file written in place grows: eight visible prefixes before the whole.
      const whole = Buffer.concat(chunks);
      for (let i = 1; i < 8; i++) {
        this.objects.set(key, [whole.subarray(0, Math.floor((whole.byteLength * i) / 8))]);
        await tick();
      }
    }
    this.objects.set(key, chunks);
    return true;
  }

  async remove(key: string) {
    this.objects.delete(key);
  }

  async removePrefix(prefix: string) {
    for (const key of [...this.objects.keys()]) if (key.startsWith(`${prefix}/`)) this.objects.delete(key);
  }

  async *list(prefix: string, options?: ListOptions) {
    const names = new Set<string>();
    for (const key of this.objects.keys()) {
      if (key.startsWith(`${prefix}/`)) names.add(key.slice(prefix.length + 1).split("/")[0]!);
    }
    for (const name of names) if (!options?.startsWith || name.startsWith(options.startsWith)) yield name;
  }
}
