import type { BackendCapabilities, BackendDriver, StageHint, StagedWrite } from "@store/backend";

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

export interface MapDriverFaults {
  /** Publish writes in steps, a growing prefix first: readers can see a partial object. */
  nonAtomicWrites?: boolean;
  /** readStream copies the whole object before yielding it. */
  wholeReads?: boolean;
}

/**
 * A whole driver in a Map (objects kept as their chunks): the smallest correct backend the suite
 * can prove itself on, and, with `faults`, broken ones it must catch.
 */
export class MapDriver implements BackendDriver {
  readonly name = "map";
  readonly capabilities: Partial<BackendCapabilities> = { persistent: true };

  constructor(
    readonly objects = new Map<string, Uint8Array[]>(),
    readonly faults: MapDriverFaults = {},
  ) {}

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

  async exists(key: string) {
    return this.objects.has(key);
  }

  async write(key: string, data: Uint8Array) {
    await this.#publish(key, [data.slice()]);
  }

  async stage(source: AsyncIterable<Uint8Array>, _hint?: StageHint): Promise<StagedWrite> {
    const chunks: Uint8Array[] = [];
    for await (const chunk of source) chunks.push(chunk);
    return {
      commit: (key) => this.#publish(key, chunks),
      abort: async () => {
        chunks.length = 0;
      },
    };
  }

  async #publish(key: string, chunks: Uint8Array[]) {
    if (this.faults.nonAtomicWrites) {
      // As a file written in place grows: eight visible prefixes before the whole.
      const whole = Buffer.concat(chunks);
      for (let i = 1; i < 8; i++) {
        this.objects.set(key, [whole.subarray(0, Math.floor((whole.byteLength * i) / 8))]);
        await tick();
      }
    }
    this.objects.set(key, chunks);
  }

  async remove(key: string) {
    this.objects.delete(key);
  }

  async removePrefix(prefix: string) {
    for (const key of [...this.objects.keys()]) if (key.startsWith(`${prefix}/`)) this.objects.delete(key);
  }

  async *list(prefix: string) {
    const names = new Set<string>();
    for (const key of this.objects.keys()) {
      if (key.startsWith(`${prefix}/`)) names.add(key.slice(prefix.length + 1).split("/")[0]!);
    }
    yield* names;
  }
}
