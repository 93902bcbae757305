import { backendConformance } from "@store/conformance";
import { createMemoryBackend } from "../src/index";

backendConformance("memory", () => ({ backend: createMemoryBackend() }));
