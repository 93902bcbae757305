import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isStoreError } from "@store/errors";
import { expect } from "vitest";
import { type TarEntry, type TarSplitPacket, assembleTar, splitTar } from "../src/index";

/** Concatenates an async iterable of chunks. */
export async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of source) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

/** `data` as chunks of `size` bytes (views, no copies). */
export function* chunked(data: Uint8Array, size: number): Generator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, Math.min(i + size, data.length));
}

/** `data` as an async stream of `size`-byte chunks. */
export async function* streamOf(data: Uint8Array, size = 65536): AsyncGenerator<Uint8Array> {
  yield* chunked(data, size);
}

export interface ReadEntry {
  header: TarEntry["header"];
  content: Buffer;
}

/** Reads every entry and its content. */
export async function readAll(entries: AsyncIterable<TarEntry>): Promise<ReadEntry[]> {
  const out: ReadEntry[] = [];
  for await (const e of entries) out.push({ header: e.header, content: await collect(e.body) });
  return out;
}

/** Splits `tar` (chunked), reading the bodies of every other entry (the rest are skipped). */
export async function split(tar: Uint8Array, chunkSize = 65536): Promise<{ packets: TarSplitPacket[]; entries: ReadEntry[] }> {
  const rec = splitTar(chunked(tar, chunkSize));
  const entries: ReadEntry[] = [];
  let i = 0;
  for await (const e of rec.entries) {
    entries.push({ header: e.header, content: i++ % 2 === 0 ? await collect(e.body) : Buffer.alloc(0) });
  }
  return { packets: rec.packets(), entries };
}

/** Rebuilds a tar from packets, taking file contents from `files` (by name bytes as latin1). */
export async function assembleFrom(packets: TarSplitPacket[], files: Map<string, Uint8Array>): Promise<Buffer> {
  return collect(
    assembleTar(packets, async (name, raw) => {
      const key = raw ? Buffer.from(raw).toString("latin1") : Buffer.from(name, "utf8").toString("latin1");
      const data = files.get(key);
      if (!data) throw new Error(`no file ${name}`);
      return (async function* () {
        yield* chunked(data, 1000);
      })();
    }),
  );
}

/** Splits, then assembles from the contents the parser saw; asserts the result equals `tar`. */
export async function expectRoundTrip(tar: Uint8Array, chunkSize = 65536): Promise<TarSplitPacket[]> {
  const rec = splitTar(chunked(tar, chunkSize));
  const files = new Map<string, Uint8Array>();
  for await (const e of rec.entries) {
    const key = e.header.nameRaw ? Buffer.from(e.header.nameRaw).toString("latin1") : Buffer.from(e.header.name, "utf8").toString("latin1");
    files.set(key, await collect(e.body));
  }
  const rebuilt = await assembleFrom(rec.packets(), files);
  expect(rebuilt.equals(Buffer.from(tar))).toBe(true);
  return rec.packets();
}

/** Runs `fn` and returns the StoreError code it failed with. */
export async function errorCode(fn: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await fn();
  } catch (e) {
    if (isStoreError(e)) return e.code;
    throw e;
  }
  return undefined;
}

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** GNU tar with `args`, returning stdout. */
export function gnuTar(args: string[], cwd?: string): Buffer {
  return execFileSync("tar", args, { cwd, maxBuffer: 1 << 30, stdio: ["ignore", "pipe", "pipe"] });
}
