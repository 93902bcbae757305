export { formatJsonMessage, progressMessage, progressReader, progressUpdate } from "./progress";
export type { ProgressDetail, ProgressEvent, ProgressListener, ProgressReaderOptions } from "./progress";
