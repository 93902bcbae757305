import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { TarErrorCode, encodeTarSplitLines, parseTar, splitTar, writeTar } from "../src/index";
import { chunked, collect, split } from "./helpers";

const files = [
  { header: { name: "dir/", type: "directory" as const } },
  { header: { name: "dir/empty", type: "file" as const }, body: Buffer.alloc(0) },
  { header: { name: "dir/small", type: "file" as const }, body: Buffer.from("small\n") },
  { header: { name: "dir/random", type: "file" as const }, body: randomBytes(3000) },
  { header: { name: "dir/link", type: "symlink" as const, linkname: "small" } },
  { header: { name: "dir/big", type: "file" as const }, body: randomBytes(200_000) },
];

describe("TarBody.readBuffered", () => {
  it("gives a body whole, synchronously, when the parser holds it, and the same tar-split as reading it in chunks", async () => {
    const tar = await collect(writeTar(files));
    for (const chunkSize of [tar.length, 65536, 700, 100]) {
      const recording = splitTar(chunked(tar, chunkSize));
      const seen: Array<[string, string]> = [];
      for await (const entry of recording.entries) {
        let content = entry.body.readBuffered?.();
        const how = content === undefined ? "chunks" : "whole";
        if (content === undefined) content = await collect(entry.body);
        seen.push([entry.header.name, how]);
        const expected = files.find((f) => f.header.name === entry.header.name)!.body ?? Buffer.alloc(0);
        expect(Buffer.from(content).equals(expected), entry.header.name).toBe(true);
      }
      // Whole-file reads keep the recording exact: same packets as the plain chunked reader.
      expect(encodeTarSplitLines(recording.packets())).toBe(encodeTarSplitLines((await split(tar, chunkSize)).packets));
      if (chunkSize === tar.length) expect(seen.every(([, how]) => how === "whole")).toBe(true);
      if (chunkSize === 100) expect(seen.find(([name]) => name === "dir/random")![1]).toBe("chunks");
    }
  });

  it("is refused after the parser moved on, like the async body", async () => {
    const tar = await collect(writeTar(files));
    const entries = parseTar(chunked(tar, 65536))[Symbol.asyncIterator]();
    let first = (await entries.next()).value!;
    while (first.header.name !== "dir/small") first = (await entries.next()).value!;
    await entries.next();
    expect(() => first.body.readBuffered?.()).toThrow(expect.objectContaining({ code: TarErrorCode.BodyExpired }));
  });
});
