// Each peer lives in a file of its own; add one export line per peer.
export { hasRoot, which } from "./system";
