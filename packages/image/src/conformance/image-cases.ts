import { chainCases } from "./chain-cases";
import type { ImageCase } from "./image-fixture";
import { restoreCases } from "./restore-cases";
import { walkCases } from "./walk-cases";

/** Every case of the image suites, concern by concern. */
export const imageCases: readonly ImageCase[] = [...restoreCases, ...chainCases, ...walkCases];
