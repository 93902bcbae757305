import type { MetadataStore } from "../index";
import { expect } from "vitest";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const bytes = (text: string): Uint8Array => encoder.encode(text);
export const textOf = (data: Uint8Array | undefined): string | undefined => (data === undefined ? undefined : decoder.decode(data));

/** The record's bytes as text (undefined when there is none). */
export async function textAt(store: MetadataStore, key: string): Promise<string | undefined> {
  return textOf((await store.get(key))?.data);
}

/** Asserts the record at `key` holds exactly `data`. */
export async function expectRecord(store: MetadataStore, key: string, data: Uint8Array): Promise<void> {
  const record = await store.get(key);
  expect(record, `a record at ${key}`).toBeDefined();
  expect(Buffer.from(record!.data).equals(Buffer.from(data)), `the bytes at ${key}`).toBe(true);
  expect(typeof record!.version).toBe("string");
}

/** The stores racers take turns on: the fixture's and, when it can open one, a second over the same location. */
export async function racingStores(store: MetadataStore, reopen?: () => Promise<MetadataStore>): Promise<MetadataStore[]> {
  return reopen ? [store, await reopen()] : [store];
}

/** Settles every promise; the outcomes split into values and errors. */
export async function settle<T>(promises: Promise<T>[]): Promise<{ won: T[]; lost: unknown[] }> {
  const results = await Promise.allSettled(promises);
  return {
    won: results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : [])),
    lost: results.flatMap((r) => (r.status === "rejected" ? [r.reason] : [])),
  };
}
