import { isStoreError } from "@store/errors";
import { MetadataError, MetadataErrorCode } from "./errors";
import type { MetadataRecord, MetadataStore } from "./metadata-store";

/** Options of {@link update}. */
export interface UpdateOptions {
  /** Conditional writes lost before giving up with ERR_METADATA_CONFLICT (default 20). */
  retries?: number;
  /** The first backoff in milliseconds; it doubles per lost write up to 250 ms, jittered (default 2). */
  backoffMs?: number;
}

/**
 * What `fn` returns: the record's new bytes, or undefined to leave the record as it is (no write).
 */
export type UpdateResult = Uint8Array | undefined;

/**
 * Read → `fn` → conditional write, retried when another writer got in between: the way to change
 * a record without losing a concurrent change. `fn` gets the current bytes (undefined when there
 * is no record) and may run several times, so it must only compute. Creates the record with
 * putIfAbsent, replaces it with putIfVersion. Returns the record as left: the one written, or the
 * one read when `fn` returned undefined (undefined when there is none).
 *
 * ```ts
 * await update(store, "counter", (data) => text(Number(data ? decode(data) : 0) + 1));
 * ```
 */
export async function update(
  store: MetadataStore,
  key: string,
  fn: (current: Uint8Array | undefined) => UpdateResult | Promise<UpdateResult>,
  options: UpdateOptions = {},
): Promise<MetadataRecord | undefined> {
  const retries = options.retries ?? 20;
  const backoffMs = options.backoffMs ?? 2;
  for (let attempt = 0; ; attempt++) {
    const current = await store.get(key);
    const next = await fn(current?.data);
    if (next === undefined) return current;
    try {
      const version = current === undefined ? await store.putIfAbsent(key, next) : await store.putIfVersion(key, next, current.version);
      return { data: next, version };
    } catch (e) {
      if (!isStoreError(e, MetadataErrorCode.Conflict)) throw e;
      if (attempt >= retries) {
        throw new MetadataError(MetadataErrorCode.Conflict, `metadata ${JSON.stringify(key)}: update lost to other writers ${attempt + 1} times; gave up`, {
          cause: e,
          details: { key, attempts: attempt + 1 },
        });
      }
      // Full jitter: writers that lost together do not come back together.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(250, backoffMs * 2 ** attempt)));
    }
  }
}
