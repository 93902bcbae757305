import type { BackendDriver, ListOptions, StageHint, StagedWrite, WriteOptions } from "../src/index";

/**
 * A tiny driver over a Map that records each primitive called, and can be told to fail one:
 * enough to pin down what createBackend itself does around a driver.
 */
export class RecordingDriver implements BackendDriver {
  readonly name = "recording";
  readonly objects = new Map<string, Uint8Array>();
  readonly calls: string[] = [];
  /** Primitive name → the error it throws next time. */
  readonly failures = new Map<string, unknown>();
  closed = 0;

  constructor(readonly capabilities?: BackendDriver["capabilities"]) {}

  /** Records `<primitive> <key>`, plus " ifAbsent" for a create-only write or commit. */
  #call(what: string, key: string, options?: WriteOptions): void {
    this.calls.push(`${what} ${key}${options?.ifAbsent ? " ifAbsent" : ""}`);
    const failure = this.failures.get(what);
    if (failure !== undefined) {
      this.failures.delete(what);
      throw failure;
    }
  }

  async read(key: string) {
    this.#call("read", key);
    return this.objects.get(key);
  }

  async readStream(key: string): Promise<AsyncIterable<Uint8Array> | undefined> {
    this.#call("readStream", key);
    const data = this.objects.get(key);
    if (!data) return undefined;
    const failure = this.failures.get("readStream.next");
    return (async function* () {
      yield data.subarray(0, 1);
      if (failure !== undefined) throw failure;
      yield data.subarray(1);
    })();
  }

  async stat(key: string) {
    this.#call("stat", key);
    const data = this.objects.get(key);
    return data && { size: data.byteLength };
  }

  async write(key: string, data: Uint8Array, options?: WriteOptions) {
    this.#call("write", key, options);
    if (options?.ifAbsent && this.objects.has(key)) return false;
    this.objects.set(key, data.slice());
    return true;
  }

  async stage(source: AsyncIterable<Uint8Array>, hint?: StageHint): Promise<StagedWrite> {
    this.#call("stage", hint?.key ?? "");
    const chunks: Uint8Array[] = [];
    for await (const chunk of source) chunks.push(chunk);
    return {
      commit: async (key, options) => {
        this.#call("commit", key, options);
        if (options?.ifAbsent && this.objects.has(key)) return false;
        this.objects.set(key, Buffer.concat(chunks));
        return true;
      },
      abort: async () => {
        this.#call("abort", hint?.key ?? "");
      },
    };
  }

  async remove(key: string) {
    this.#call("remove", key);
    this.objects.delete(key);
  }

  async removePrefix(prefix: string) {
    this.#call("removePrefix", prefix);
    for (const key of [...this.objects.keys()]) if (key.startsWith(`${prefix}/`)) this.objects.delete(key);
  }

  async *list(prefix: string, options?: ListOptions) {
    this.#call(options?.startsWith ? `list(${options.startsWith})` : "list", prefix);
    const names = new Set<string>();
    for (const key of this.objects.keys()) {
      if (key.startsWith(`${prefix}/`)) names.add(key.slice(prefix.length + 1).split("/")[0]!);
    }
    yield* names;
  }

  async close() {
    this.closed++;
  }
}
