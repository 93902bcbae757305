import type { BackendCase } from "./backend-fixture";
import { closeCases } from "./close-cases";
import { concurrencyCases } from "./concurrency-cases";
import { metadataCases } from "./metadata-cases";
import { persistenceCases } from "./persistence-cases";
import { setGetCases } from "./set-get-cases";
import { streamCases } from "./stream-cases";
import { walkCases } from "./walk-cases";

/** Every case of the StoreBackend suite, concern by concern. */
export const backendCases: readonly BackendCase[] = [
  ...walkCases,
  ...setGetCases,
  ...metadataCases,
  ...streamCases,
  ...concurrencyCases,
  ...persistenceCases,
  ...closeCases,
];
