export { createS3Backend } from "./create-s3-backend";
export type { S3BackendOptions } from "./s3-backend-options";
export { detectConditionalCreate } from "./detect-conditional-create";
export { S3BackendError, S3BackendErrorCode } from "./s3-errors";
