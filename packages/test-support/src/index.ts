export { MapDriver } from "./map-driver";
export type { MapDriverCapabilities, MapDriverFaults, MapDriverOptions } from "./map-driver";
export { tempDir, withTempDir } from "./temp-dir";
export { makeTar } from "./make-tar";
export { bundleFixture } from "./bundle-fixture";
export { buildTestImage, buildTestIndex, uploadTestBlob, uploadTestImage, uploadTestManifest } from "./registry-image";
export type { TestBlob, TestImage } from "./registry-image";
export { filesUnder } from "./files-under";
