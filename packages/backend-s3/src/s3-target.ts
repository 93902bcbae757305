import type { S3Client } from "@aws-sdk/client-s3";
import type { S3Layout } from "./s3-layout";

/** What every S3 operation of the driver needs: where, through which client, and how. */
export interface S3Target {
  readonly client: S3Client;
  readonly bucket: string;
  readonly layout: S3Layout;
  /**
   * The server honours `If-None-Match: *`: create-only writes send it. Without it they look
   * (HEAD) before they write, which for content is just as correct (the same bytes).
   */
  readonly conditionalCreate: boolean;
  /** Bytes per multipart part (the first 1,000 parts; see partSizeFor). */
  readonly partSize: number;
  /** Parts of one upload in flight at once. */
  readonly queueSize: number;
  /** Attempts at reading one object body through dropped connections. */
  readonly readAttempts: number;
}
