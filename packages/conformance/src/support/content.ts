import type { StoreBackend } from "@store/backend";
import { type Digest, digestFromBytes } from "@store/digest";
import { expect } from "vitest";

const encoder = new TextEncoder();

/** Distinct small contents, like image configs. */
export function sample(label: string | number): Uint8Array {
  return encoder.encode(JSON.stringify({ architecture: "amd64", os: "linux", comment: `conformance ${label}` }));
}

export function text(value: string): Uint8Array {
  return encoder.encode(value);
}

/** Reads a stream to its end into one array (for small contents only). */
export async function collect(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Every id the backend walks, in walk order. */
export async function walked(backend: StoreBackend): Promise<string[]> {
  const ids: string[] = [];
  await backend.walk((id: Digest) => {
    ids.push(id.toString());
  });
  return ids;
}

/** Sorted as walk sorts: by algorithm, then hex. */
export function sortedIds(ids: Iterable<Digest>): string[] {
  return [...ids].map((id) => id.toString()).sort();
}

/** Yields to the event loop, so racing operations interleave. */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Asserts two byte arrays hold the same bytes (whatever their classes), showing them as text when they differ. */
export function expectBytes(actual: Uint8Array, expected: Uint8Array): void {
  const show = (bytes: Uint8Array) =>
    bytes.byteLength <= 4096
      ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1")
      : `${bytes.byteLength} bytes, ${digestFromBytes(bytes)}`;
  expect(actual).toBeInstanceOf(Uint8Array);
  expect(show(actual)).toBe(show(expected));
}
