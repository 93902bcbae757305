// Each peer lives in a file of its own; add one export line per peer.
export { hasRoot, which } from "./system";
export { tarEntries, entryHeader, type EntrySpec } from "./tar-entries";
