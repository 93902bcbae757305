export { createMemoryBackend, createMemoryDriver } from "./create-memory-backend";
