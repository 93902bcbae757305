import { sharedTierSuite } from "./shared-tier-suite";
import { memoryMedium } from "./support/tier-medium";

sharedTierSuite("memory", async () => memoryMedium());
