import type { BackendCase } from "./backend-fixture";
import { blobCases } from "./blob-cases";
import { closeCases } from "./close-cases";
import { concurrencyCases } from "./concurrency-cases";
import { createOnlyCases } from "./create-only-cases";
import { digestCases } from "./digest-cases";
import { infoCases } from "./info-cases";
import { metadataCases } from "./metadata-cases";
import { persistenceCases } from "./persistence-cases";
import { setGetCases } from "./set-get-cases";
import { sharedCases } from "./shared-cases";
import { streamCases } from "./stream-cases";
import { walkCases } from "./walk-cases";

/** Every case of the StoreBackend suite, concern by concern. */
export const backendCases: readonly BackendCase[] = [
  ...walkCases,
  ...setGetCases,
  ...digestCases,
  ...infoCases,
  ...metadataCases,
  ...streamCases,
  ...blobCases,
  ...createOnlyCases,
  ...concurrencyCases,
  ...sharedCases,
  ...persistenceCases,
  ...closeCases,
];
