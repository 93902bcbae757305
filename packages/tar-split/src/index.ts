export type { TarBody, TarEntry, TarEntryType, TarHeader } from "./tar-entry";
export { TarError, TarErrorCode } from "./errors";
export { Crc64, crc64 } from "./crc64";
export type { ByteSource } from "./byte-reader";
export { parseTar } from "./parse-tar";
export type { ParseTarOptions } from "./parse-tar";
export type { TarReaderOptions } from "./tar-reader";
export { splitTar } from "./split-tar";
export type { SplitTarOptions, TarSplitRecording } from "./split-tar";
export {
  TarSplitPacketType,
  decodeTarSplitPacket,
  encodeTarSplitLines,
  encodeTarSplitPacket,
} from "./tar-split-packet";
export type { TarSplitFile, TarSplitPacket, TarSplitSegment } from "./tar-split-packet";
export { encodeTarSplit, readTarSplit } from "./tar-split-io";
export { assembleTar } from "./assemble-tar";
export type { OpenFile } from "./assemble-tar";
export { encodeTarHeader, writeTar } from "./write-tar";
export type { TarWriteEntry } from "./write-tar";
export { goCleanPath as cleanPath } from "./tar-format";
