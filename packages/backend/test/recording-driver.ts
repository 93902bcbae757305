import type { BackendDriver, StageHint, StagedWrite } from "../src/index";

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

  #call(what: string, key: string): void {
    this.calls.push(`${what} ${key}`);
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

  async exists(key: string) {
    this.#call("exists", key);
    return this.objects.has(key);
  }

  async write(key: string, data: Uint8Array) {
    this.#call("write", key);
    this.objects.set(key, data.slice());
  }

  async stage(source: AsyncIterable<Uint8Array>, hint?: StageHint): Promise<StagedWrite> {
    this.#call("stage", hint?.key ?? "");
    const chunks: Uint8Array[] = [];
    for await (const chunk of source) chunks.push(chunk);
    return {
      commit: async (key) => {
        this.#call("commit", key);
        this.objects.set(key, Buffer.concat(chunks));
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

  async *list(prefix: string) {
    this.#call("list", prefix);
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
