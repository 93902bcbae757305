import { execFileSync, spawn } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { isStoreError } from "@store/errors";
import { LayerErrorCode, decompress, zstdDecompress } from "../src/index";
import { zstdProcess } from "../src/zstd-process";
import { tempStore } from "./helpers";

const zstd = (bytes: Buffer, ...args: string[]) => execFileSync("zstd", ["-q", "-c", ...args], { input: bytes, maxBuffer: 1 << 30 });

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const out: Uint8Array[] = [];
  for await (const c of chunks) out.push(c);
  return Buffer.concat(out);
}

async function* pieces(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.byteLength; at += size) yield bytes.subarray(at, at + size);
}

async function refusal(chunks: AsyncIterable<Uint8Array>): Promise<Error> {
  const e = await collect(chunks).then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(isStoreError(e, LayerErrorCode.InvalidData), String(e)).toBe(true);
  expect((e as Error).message).not.toContain("\n");
  return e as Error;
}

describe("zstdDecompress", () => {
  const text = Buffer.from(Array.from({ length: 40_000 }, (_, i) => `line ${i} ${i % 7 === 0 ? randomBytes(8).toString("hex") : ""}\n`).join(""));

  it("gives back what zstd compressed, from chunks of any size, frames concatenated", async () => {
    const two = Buffer.concat([zstd(text), zstd(text, "-19")]);
    for (const size of [1, 7, 4096, 1 << 20]) {
      expect((await collect(zstdDecompress(pieces(two, size)))).equals(Buffer.concat([text, text]))).toBe(true);
    }
    // Through decompress(), which detects it from the magic number.
    expect((await collect(decompress(pieces(zstd(text), 1000)))).equals(text)).toBe(true);
  });

  it("streams a bomb in chunks no larger than asked, memory bounded by the window", async () => {
    // 2 GiB of zeros from a few tens of KiB, streamed by the zstd CLI: nothing holds it whole.
    const child = spawn("bash", ["-c", "head -c 2G /dev/zero | zstd -q -c"], { stdio: ["ignore", "pipe", "inherit"] });
    const hash = createHash("sha256");
    let total = 0;
    let largest = 0;
    let rss = 0;
    for await (const c of zstdDecompress(child.stdout, { chunkSize: 256 << 10 })) {
      total += c.byteLength;
      largest = Math.max(largest, c.byteLength);
      hash.update(c);
      if ((total & ((256 << 20) - 1)) === 0) rss = Math.max(rss, process.memoryUsage().rss);
    }
    expect(total).toBe(2 ** 31);
    expect(largest).toBe(256 << 10);
    expect(rss).toBeLessThan(600 << 20); // the vitest worker's own share included
  }, 30_000);

  it("decodes streams side by side while one grows the shared WebAssembly memory (a 128 MiB window)", async () => {
    const small = zstd(text);
    // From a pipe zstd does not know the size, so --long=27 declares the full 128 MiB window.
    const wide = execFileSync("bash", ["-c", "head -c 160M /dev/zero | zstd -q -1 --long=27 -c"], { maxBuffer: 1 << 26 });
    const a = zstdDecompress(pieces(small, 512), { chunkSize: 128 << 10 })[Symbol.asyncIterator]();
    const first = await a.next();
    const b = zstdDecompress(pieces(wide, 65536));
    let wideTotal = 0;
    for await (const c of b) wideTotal += c.byteLength; // allocates the window: the memory grows
    const rest = [Buffer.from(first.value as Uint8Array)];
    for (let r = await a.next(); !r.done; r = await a.next()) rest.push(Buffer.from(r.value));
    expect(wideTotal).toBe(160 << 20);
    expect(Buffer.concat(rest).equals(text)).toBe(true);
  });

  it("refuses corrupt, truncated, trailing and foreign data with one line", async () => {
    const good = zstd(text);
    const corrupt = Buffer.from(good);
    for (let i = 100; i < corrupt.length - 10; i += 97) corrupt[i]! ^= 0x5a;
    expect((await refusal(zstdDecompress(pieces(corrupt, 4096)))).message).toMatch(/^zstd data: /);
    expect((await refusal(zstdDecompress(pieces(good.subarray(0, good.length - 50), 4096)))).message).toContain("truncated");
    expect((await refusal(zstdDecompress(pieces(Buffer.concat([good, Buffer.from("trailing junk")]), 4096)))).message).toContain("unknown frame");
    expect((await refusal(zstdDecompress(pieces(Buffer.from("not zstd at all"), 4)))).message).toContain("unknown frame");
    expect((await refusal(zstdDecompress(pieces(Buffer.alloc(0), 1)))).message).toContain("empty");
  });

  it("refuses a frame whose window is beyond zstd's default limit (128 MiB), as zstd -d does", async () => {
    const long = execFileSync("bash", ["-c", "head -c 100000 /dev/urandom | zstd -q --long=30 -c"], { maxBuffer: 1 << 20 });
    expect((await refusal(zstdDecompress(pieces(long, 65536)))).message).toContain("window");
  });

  it("frees its decoder when the reader stops early, so many abandoned streams cost nothing", async () => {
    const big = zstd(Buffer.alloc(8 << 20, 1));
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 200; i++) {
      for await (const c of zstdDecompress(pieces(big, 1024))) {
        expect(c.byteLength).toBeGreaterThan(0);
        break;
      }
    }
    expect(process.memoryUsage().rss - before).toBeLessThan(64 << 20);
  });

  it("falls back on the zstd command where WebAssembly memory cannot be had (ulimit -v): same bytes, same refusals", async () => {
    const why = new Error("WebAssembly.Instance(): Out of memory");
    const two = Buffer.concat([zstd(text), zstd(text)]);
    expect((await collect(zstdProcess(pieces(two, 3000), why))).equals(Buffer.concat([text, text]))).toBe(true);
    const good = zstd(text);
    expect((await refusal(zstdProcess(pieces(good.subarray(0, good.length - 50), 4096), why))).message).toMatch(/^zstd data: /);
    expect((await refusal(zstdProcess(pieces(Buffer.from("not zstd at all"), 4), why))).message).toMatch(/^zstd data: /);
    // A reader that stops early leaves no process behind.
    for await (const c of zstdProcess(pieces(zstd(Buffer.alloc(64 << 20)), 65536), why)) {
      expect(c.byteLength).toBeGreaterThan(0);
      break;
    }
  });

  it("register refuses a layer bomb (GiBs of zeros past the tar's end) before holding them, leaving nothing", async () => {
    const t = await tempStore();
    try {
      const child = spawn("bash", ["-c", "head -c 1G /dev/zero | zstd -q -c"], { stdio: ["ignore", "pipe", "inherit"] });
      const error = await t.store.register(child.stdout).then(
        () => undefined,
        (e: unknown) => e,
      );
      child.kill();
      expect(isStoreError(error, LayerErrorCode.InvalidData) || isStoreError(error, "ERR_TAR_UNSUPPORTED"), String(error)).toBe(true);
      expect((error as Error).message).toContain("more than 16777216 bytes after the end of the archive");
      expect(t.store.map().size).toBe(0);
      expect((await readdir(join(t.root, "overlay2")).catch(() => [])).filter((d) => d !== "l")).toEqual([]);
    } finally {
      await t.cleanup();
    }
  });
});
