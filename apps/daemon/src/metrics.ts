/** Upper bounds (seconds) of the request-duration histogram's buckets. */
const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

const label = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/**
 * The daemon's counters, rendered in Prometheus' text format on `--metrics-addr`: requests by
 * route, method and status, their durations, bytes pulled and pushed, layers extracted, and
 * operations by outcome.
 */
export class Metrics {
  readonly #requests = new Map<string, number>();
  readonly #durations = new Map<string, Histogram>();
  readonly #operations = new Map<string, number>();
  #bytesPulled = 0;
  #bytesPushed = 0;
  #layersExtracted = 0;

  /** One answered request; `route` is the route's pattern (`/images/{name}/json`), not the path. */
  request(route: string, method: string, status: number, seconds: number): void {
    const key = `${route}\0${method}\0${status}`;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
    let h = this.#durations.get(route);
    if (!h) this.#durations.set(route, (h = { counts: buckets.map(() => 0), sum: 0, count: 0 }));
    buckets.forEach((b, i) => {
      if (seconds <= b) h.counts[i]!++;
    });
    h.sum += seconds;
    h.count++;
  }

  /** One pull, push, load or import finished ("ok" or "error"). */
  operation(name: string, result: "ok" | "error"): void {
    const key = `${name}\0${result}`;
    this.#operations.set(key, (this.#operations.get(key) ?? 0) + 1);
  }

  pulled(bytes: number): void {
    this.#bytesPulled += bytes;
  }

  pushed(bytes: number): void {
    this.#bytesPushed += bytes;
  }

  extracted(layers: number): void {
    this.#layersExtracted += layers;
  }

  /** The exposition text (`text/plain; version=0.0.4`). */
  render(): string {
    const out: string[] = [];
    out.push("# HELP stored_requests_total Engine API requests answered.", "# TYPE stored_requests_total counter");
    for (const [key, n] of this.#requests) {
      const [route, method, status] = key.split("\0");
      out.push(`stored_requests_total{route="${label(route!)}",method="${method}",status="${status}"} ${n}`);
    }
    out.push("# HELP stored_request_duration_seconds Time to answer a request.", "# TYPE stored_request_duration_seconds histogram");
    for (const [route, h] of this.#durations) {
      const r = label(route);
      for (const [i, b] of buckets.entries()) out.push(`stored_request_duration_seconds_bucket{route="${r}",le="${b}"} ${h.counts[i]}`);
      out.push(`stored_request_duration_seconds_bucket{route="${r}",le="+Inf"} ${h.count}`);
      out.push(`stored_request_duration_seconds_sum{route="${r}"} ${h.sum}`, `stored_request_duration_seconds_count{route="${r}"} ${h.count}`);
    }
    out.push("# HELP stored_operations_total Pulls, pushes, loads and imports by outcome.", "# TYPE stored_operations_total counter");
    for (const [key, n] of this.#operations) {
      const [operation, result] = key.split("\0");
      out.push(`stored_operations_total{operation="${operation}",result="${result}"} ${n}`);
    }
    out.push(
      "# HELP stored_pulled_bytes_total Compressed layer bytes downloaded by pulls.",
      "# TYPE stored_pulled_bytes_total counter",
      `stored_pulled_bytes_total ${this.#bytesPulled}`,
      "# HELP stored_pushed_bytes_total Layer bytes uploaded by pushes.",
      "# TYPE stored_pushed_bytes_total counter",
      `stored_pushed_bytes_total ${this.#bytesPushed}`,
      "# HELP stored_layers_extracted_total Layers unpacked by pulls, loads and imports.",
      "# TYPE stored_layers_extracted_total counter",
      `stored_layers_extracted_total ${this.#layersExtracted}`,
    );
    return `${out.join("\n")}\n`;
  }
}

/**
 * Tallies one operation's progress events: the bytes each item reached under `status`
 * ("Downloading", "Pushing") and the items that reached `done` ("Pull complete", "Loading layer").
 */
export function progressTally(status: string, done: string) {
  const bytes = new Map<string, number>();
  const finished = new Set<string>();
  return {
    see(event: { status: string; id?: string; progressDetail?: { current?: number } }): void {
      if (event.id === undefined) return;
      if (event.status === status && event.progressDetail?.current !== undefined) bytes.set(event.id, event.progressDetail.current);
      if (event.status === done) finished.add(event.id);
    },
    get bytes(): number {
      let n = 0;
      for (const b of bytes.values()) n += b;
      return n;
    },
    get items(): number {
      return finished.size;
    },
  };
}
