import { ImageError, ImageErrorCode } from "./errors";

/**
 * Filters as the Engine API takes them (`filters` query parameter): either the current map form
 * `{"dangling":{"true":true}}` or the legacy list form `{"dangling":["true"]}`.
 */
export type FilterInput = Record<string, readonly string[] | Record<string, boolean>> | ReadonlyMap<string, readonly string[]>;

/** moby's filters.Args: each filter name with its set of values. */
export class Filters {
  readonly #fields = new Map<string, Set<string>>();

  constructor(input: FilterInput = {}) {
    const entries = input instanceof Map ? [...input.entries()] : Object.entries(input as Record<string, unknown>);
    for (const [name, values] of entries) {
      const set = new Set<string>();
      if (Array.isArray(values)) {
        for (const v of values) set.add(String(v));
      } else if (typeof values === "object" && values !== null) {
        for (const [v, on] of Object.entries(values)) if (on) set.add(v);
      } else {
        throw new ImageError(ImageErrorCode.InvalidFilter, `invalid filter '${name}': values must be a list or a map`, {
          details: { filter: name },
        });
      }
      this.#fields.set(name, set);
    }
  }

  /** Throws ERR_IMAGE_INVALID_FILTER for a filter name not in `accepted` ("invalid filter 'x'"). */
  validate(accepted: readonly string[]): void {
    for (const name of this.#fields.keys()) {
      if (!accepted.includes(name)) {
        throw new ImageError(ImageErrorCode.InvalidFilter, `invalid filter '${name}'`, { details: { filter: name, accepted } });
      }
    }
  }

  contains(name: string): boolean {
    return this.#fields.has(name);
  }

  get(name: string): string[] {
    return [...(this.#fields.get(name) ?? [])];
  }

  exactMatch(name: string, value: string): boolean {
    const values = this.#fields.get(name);
    return !values || values.size === 0 || values.has(value);
  }

  /**
   * Whether `labels` satisfy every `key` or `key=value` of filter `name` (moby MatchKVList):
   * true when the filter is absent, false when it is present and there are no labels.
   */
  matchKVList(name: string, labels: Readonly<Record<string, string>> | undefined): boolean {
    const values = this.#fields.get(name);
    if (!values || values.size === 0) return true;
    if (!labels || Object.keys(labels).length === 0) return false;
    for (const value of values) {
      const eq = value.indexOf("=");
      const key = eq < 0 ? value : value.slice(0, eq);
      if (!Object.hasOwn(labels, key)) return false;
      if (eq >= 0 && labels[key] !== value.slice(eq + 1)) return false;
    }
    return true;
  }

  /**
   * A boolean filter (`dangling`): `fallback` when absent, else true/false; anything else is
   * ERR_IMAGE_INVALID_FILTER, as moby's invalidFilter.
   */
  boolean(name: string, fallback: boolean): boolean {
    const values = this.#fields.get(name);
    if (!values || values.size === 0) return fallback;
    const lower = [...values].map((v) => v.toLowerCase());
    if (lower.every((v) => v === "true" || v === "1")) return true;
    if (lower.every((v) => v === "false" || v === "0")) return false;
    throw new ImageError(ImageErrorCode.InvalidFilter, `Invalid filter '${name}=[${[...values].join(" ")}]'`, {
      details: { filter: name, values: [...values] },
    });
  }
}
