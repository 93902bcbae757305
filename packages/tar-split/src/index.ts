export type { TarEntry, TarEntryType, TarHeader } from "./tar-entry";
