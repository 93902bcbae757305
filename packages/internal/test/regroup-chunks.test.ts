import { describe, expect, it } from "vitest";
import { regroupChunks } from "../src";

async function sizes(chunks: number[], size: number, exact?: boolean): Promise<{ sizes: number[]; bytes: Buffer }> {
  let n = 0;
  const source = (async function* () {
    for (const c of chunks) yield Buffer.from(Array.from({ length: c }, () => n++ & 0xff));
  })();
  const out: Uint8Array[] = [];
  for await (const c of regroupChunks(source, size, exact === undefined ? {} : { exact })) out.push(c);
  return { sizes: out.map((c) => c.byteLength), bytes: Buffer.concat(out) };
}

describe("regroupChunks", () => {
  it("gathers small chunks into ones of at least `size`, passes large ones through, keeps every byte in order", async () => {
    const r = await sizes([3, 3, 3, 10, 2, 1], 5);
    expect(r.sizes).toEqual([6, 3 + 10, 3]);
    expect([...r.bytes]).toEqual(Array.from({ length: 22 }, (_, i) => i));
    expect((await sizes([8, 1], 5)).sizes).toEqual([8, 1]);
  });

  it("with exact, cuts every chunk but the last to exactly `size`", async () => {
    const r = await sizes([3, 3, 3, 10, 2, 1], 5, true);
    expect(r.sizes).toEqual([5, 5, 5, 5, 2]);
    expect([...r.bytes]).toEqual(Array.from({ length: 22 }, (_, i) => i));
  });

  it("refuses a size that is not positive", async () => {
    await expect(sizes([1], 0)).rejects.toThrow(RangeError);
  });
});
