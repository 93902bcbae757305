export type { Layer, LayerGetReleaser, LayerMetadata } from "./layer";
