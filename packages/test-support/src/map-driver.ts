/**
 * The shapes of @store/backend's `BackendDriver` this driver implements, written out rather than
 * imported: @store/backend's own tests use this driver, and a dependency on @store/backend here
 * would close a package cycle. `createBackend(new MapDriver())` checks the fit structurally.
 */
export interface MapDriverCapabilities {
  persistent?: boolean;
  shared?: boolean;
  conditionalCreate?: boolean;
}
interface WriteOptions {
  ifAbsent?: boolean;
}
interface ListOptions {
  startsWith?: string;
}
interface StagedWrite {
  commit(key: string, options?: WriteOptions): Promise<boolean>;
  abort(): Promise<void>;
}

/** Ways to break the driver on purpose, for tests proving a suite catches them. */
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

export interface MapDriverOptions {
  /** Where objects live, as the chunks they were written in; share one Map to "reopen". */
  objects?: Map<string, Uint8Array[]>;
  /** Declared capabilities; none by default (as a driver that declares nothing). */
  capabilities?: MapDriverCapabilities;
  faults?: MapDriverFaults;
  name?: string;
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The smallest whole BackendDriver: objects in a Map, kept as the chunks they were written in (so
 * a stream in or out holds no extra copy, which the conformance suite's memory cases measure).
 * It records each primitive called (`calls`, as `"<primitive> <key>"`), throws a queued failure
 * once (`failures`: primitive name, or `"readStream.next"` for mid-stream, → error), counts
 * `close()`s, and with `faults` is broken in the ways a suite must catch.
 */
export class MapDriver {
  readonly name: string;
  readonly objects: Map<string, Uint8Array[]>;
  readonly capabilities: MapDriverCapabilities | undefined;
  readonly faults: MapDriverFaults;
  readonly calls: string[] = [];
  readonly failures = new Map<string, unknown>();
  closed = 0;

  constructor(options: MapDriverOptions = {}) {
    this.name = options.name ?? "map";
    this.objects = options.objects ?? new Map();
    this.capabilities = options.capabilities;
    this.faults = options.faults ?? {};
  }

  /** An object's bytes, whole; undefined when absent. */
  bytes(key: string): Uint8Array | undefined {
    const chunks = this.objects.get(key);
    return chunks && new Uint8Array(Buffer.concat(chunks));
  }

  /** Stores `data` under `key` behind every check, as damage on disk or another writer would. */
  put(key: string, data: Uint8Array): void {
    this.objects.set(key, [data.slice()]);
  }

  /** Records `<primitive> <key>`, plus " ifAbsent" for a create-only write or commit. */
  #call(what: string, key: string, options?: WriteOptions): void {
    this.calls.push(`${what} ${key}${options?.ifAbsent ? " ifAbsent" : ""}`);
    const failure = this.failures.get(what);
    if (failure !== undefined) {
      this.failures.delete(what);
      throw failure;
    }
  }

  async read(key: string): Promise<Uint8Array | undefined> {
    this.#call("read", key);
    return this.bytes(key);
  }

  async readStream(key: string): Promise<AsyncIterable<Uint8Array> | undefined> {
    this.#call("readStream", key);
    const chunks = this.objects.get(key);
    if (!chunks) return undefined;
    const served = this.faults.wholeReads ? [Buffer.concat(chunks)] : chunks;
    const failures = this.failures;
    return (async function* () {
      for (const [i, chunk] of served.entries()) {
        if (i === 0 && failures.has("readStream.next")) {
          // Fail after the first byte, as a connection dropped mid-body would.
          yield chunk.subarray(0, 1);
          const failure = failures.get("readStream.next");
          failures.delete("readStream.next");
          throw failure;
        }
        yield chunk;
      }
    })();
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    this.#call("stat", key);
    const chunks = this.objects.get(key);
    return chunks && { size: chunks.reduce((n, c) => n + c.byteLength, 0) };
  }

  async write(key: string, data: Uint8Array, options?: WriteOptions): Promise<boolean> {
    this.#call("write", key, options);
    return this.#publish(key, [data.slice()], options);
  }

  async stage(source: AsyncIterable<Uint8Array>, hint?: { key?: string }): Promise<StagedWrite> {
    this.#call("stage", hint?.key ?? "");
    const chunks: Uint8Array[] = [];
    const early = this.faults.publishesWhileStaging ? hint?.key : undefined;
    for await (const chunk of source) {
      chunks.push(chunk);
      if (early !== undefined) this.objects.set(early, [...chunks]);
    }
    return {
      commit: async (key, options) => {
        this.#call("commit", key, options);
        return this.#publish(key, chunks, options);
      },
      abort: async () => {
        this.calls.push(`abort ${hint?.key ?? ""}`);
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

  async remove(key: string): Promise<void> {
    this.#call("remove", key);
    this.objects.delete(key);
  }

  async removePrefix(prefix: string): Promise<void> {
    this.#call("removePrefix", prefix);
    for (const key of [...this.objects.keys()]) if (key.startsWith(`${prefix}/`)) this.objects.delete(key);
  }

  async *list(prefix: string, options?: ListOptions): AsyncIterable<string> {
    this.#call(options?.startsWith ? `list(${options.startsWith})` : "list", prefix);
    const names = new Set<string>();
    for (const key of this.objects.keys()) {
      if (key.startsWith(`${prefix}/`)) names.add(key.slice(prefix.length + 1).split("/")[0]!);
    }
    for (const name of names) if (!options?.startsWith || name.startsWith(options.startsWith)) yield name;
  }

  async close(): Promise<void> {
    this.closed++;
  }
}
