import { describe, expect, it } from "vitest";
import { type ProgressEvent, formatJsonMessage, progressMessage, progressReader, progressUpdate } from "../src/progress";

async function drain(source: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const chunk of source) n += chunk.byteLength;
  return n;
}

describe("progress events", () => {
  it("are written as dockerd's JSON messages: docker's key order, zero counts omitted", () => {
    expect(formatJsonMessage(progressUpdate("Loading layer", "0123456789ab", 32768, 2811478))).toBe(
      '{"status":"Loading layer","progressDetail":{"current":32768,"total":2811478},"id":"0123456789ab"}',
    );
    expect(formatJsonMessage({ status: "Pull complete", progressDetail: {}, id: "aaaaaaaaaaaa" })).toBe(
      '{"status":"Pull complete","progressDetail":{},"id":"aaaaaaaaaaaa"}',
    );
    expect(formatJsonMessage(progressUpdate("Importing", undefined, 0))).toBe('{"status":"Importing","progressDetail":{}}');
    expect(formatJsonMessage(progressMessage("Loaded image: a<b>&c"))).toBe('{"status":"Loaded image: a\\u003cb\\u003e\\u0026c"}');
  });

  it("count the bytes a reader passes through, first at 0 and last at the end, unchanged bytes", async () => {
    const events: ProgressEvent[] = [];
    const chunks = Array.from({ length: 64 }, (_, i) => new Uint8Array(1024).fill(i));
    const total = 64 * 1024;
    const seen: Uint8Array[] = [];
    for await (const c of progressReader(chunks, { status: "Loading layer", id: "abc", total, onProgress: (e) => events.push(e) })) seen.push(c);
    expect(seen).toEqual(chunks);
    expect(events[0]).toEqual({ status: "Loading layer", progressDetail: { current: 0, total }, id: "abc" });
    expect(events.at(-1)).toEqual({ status: "Loading layer", progressDetail: { current: total, total }, id: "abc" });
    // One per 1 % of the total (655 bytes here), so at most one per 1 KiB chunk; never backwards.
    expect(events.length).toBe(chunks.length + 1);
    const currents = events.map((e) => e.progressDetail!.current!);
    expect([...currents].sort((a, b) => a - b)).toEqual(currents);
  });

  it("stop a reader with the signal's reason, and report nothing after", async () => {
    const controller = new AbortController();
    const events: ProgressEvent[] = [];
    async function* endless() {
      for (;;) yield new Uint8Array(10);
    }
    let n = 0;
    const read = (async () => {
      for await (const _ of progressReader(endless(), { status: "Importing", onProgress: (e) => events.push(e), signal: controller.signal })) {
        if (++n === 5) controller.abort("SIGINT");
      }
    })();
    await expect(read).rejects.toBe("SIGINT");
    expect(n).toBe(5);
    expect(await drain(progressReader([new Uint8Array(3)], { status: "x" }))).toBe(3);
  });

  it("report a large stream every 512 KiB, not every chunk", async () => {
    const events: ProgressEvent[] = [];
    const chunks = Array.from({ length: 1024 }, () => new Uint8Array(64 * 1024)); // 64 MiB: 1 % would be 640 KiB
    await drain(progressReader(chunks, { status: "Saving", onProgress: (e) => events.push(e) }));
    expect(events.map((e) => e.progressDetail!.current)).toEqual(Array.from({ length: 129 }, (_, i) => i * 512 * 1024));
  });
});
