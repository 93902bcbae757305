export { MapDriver } from "./map-driver";
export type { MapDriverCapabilities, MapDriverFaults, MapDriverOptions } from "./map-driver";
export { tempDir, withTempDir } from "./temp-dir";
